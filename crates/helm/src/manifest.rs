//! From rendered templates to `helm template`'s output (`releaseutil.SortManifests` and
//! `action.renderResources`): files in path order, split into documents at `---` lines, hooks separated
//! by their `helm.sh/hook` annotation, manifests and hooks stable-sorted by Helm's install order of kinds.

use std::collections::{BTreeMap, HashMap};

use tack_gotemplate::Value;

use crate::error::{Error, Result};

/// Helm v4's install order of kinds; unknown kinds come after, by kind name.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub source: String,
    /// The document text as rendered (leading whitespace removed).
    pub content: String,
    /// The object's `kind`, empty when the document has none.
    pub kind: String,
    /// The object's `metadata.name`, empty when the document has none.
    pub name: String,
    /// The hook events (`pre-install`, `test`, ...) when the document is a Helm hook.
    pub hook_events: Vec<String>,
}

impl Manifest {
    /// Whether the document is a test hook (`helm.sh/hook: test`).
    pub fn is_test_hook(&self) -> bool {
        self.hook_events
            .iter()
            .any(|e| e == "test" || e == "test-success")
    }
}

/// Helm's `SplitManifests`: split at lines starting with `---` (the rest of that line's spaces and tabs go
/// too), drop documents that are only whitespace, remove leading whitespace of each.
pub fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim_start();
    let mut docs = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut push = |d: &str| {
        if !d.trim().is_empty() {
            docs.push(d.trim_start().to_string());
        }
    };
    while i < bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        if at_line_start && bytes[i..].starts_with(b"---") {
            push(&text[start..i]);
            let mut j = i + 3;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            start = j;
            i = j;
            continue;
        }
        i += 1;
    }
    push(&text[start..]);
    docs
}

/// The documents of one rendered file, each with its head (kind, name, annotations) or the message of the
/// error that reading it gave (without the file, which [`sort_manifests`] adds).
pub type ReadFile = Vec<(String, std::result::Result<Head, String>)>;

/// Splits a rendered file into documents and reads the head of each, as `releaseutil.SortManifests` does;
/// `None` for files Helm does not read (partials, files that are only whitespace). Pure and `Send`: it runs
/// on another thread while the next templates execute.
pub fn read_file(path: &str, content: &str) -> Option<ReadFile> {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with('_') || content.trim().is_empty() {
        return None;
    }
    let docs = split_manifests(content)
        .into_iter()
        .map(|doc| {
            let head = crate::yaml::unmarshal(&doc)
                .map_err(|e| e.to_string())
                .and_then(|v| simple_head(&v));
            (doc, head)
        })
        .collect();
    Some(docs)
}

/// Sorts rendered files into manifests and hooks, each in install order. `read` holds files already read
/// with [`read_file`] (by path); the others are read here.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
    mut read: HashMap<String, ReadFile>,
) -> Result<(Vec<Manifest>, Vec<Manifest>)> {
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        let Some(docs) = read.remove(path).or_else(|| read_file(path, content)) else {
            continue;
        };
        for (doc, head) in docs {
            let (kind, name, annotations) =
                head.map_err(|e| Error::Manifest(format!("YAML parse error on {path}: {e}")))?;
            let mut m = Manifest {
                source: path.clone(),
                content: doc,
                kind,
                name,
                hook_events: Vec::new(),
            };
            let Some(hook) = annotations
                .iter()
                .find(|(k, _)| k == "helm.sh/hook")
                .map(|(_, v)| v.clone())
            else {
                generic.push(m);
                continue;
            };
            let events: Vec<String> = hook.split(',').map(|e| e.trim().to_ascii_lowercase()).collect();
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                // Helm skips documents with an unknown hook type.
                continue;
            }
            m.hook_events = events;
            hooks.push(m);
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);
    Ok((hooks, generic))
}

/// The `SimpleHead` fields Helm decodes from each document: kind, metadata.name and metadata.annotations.
pub type Head = (String, String, Vec<(String, String)>);

fn simple_head(v: &Value) -> std::result::Result<Head, String> {
    let bad = |what: &str, v: &Value, ty: &str| {
        format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {what} of type {ty}",
            json_kind(v)
        )
    };
    let m = match v {
        Value::Map(m) => m.borrow().clone(),
        Value::Nil => return Ok((String::new(), String::new(), Vec::new())),
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                json_kind(other)
            ));
        }
    };
    // sigs.k8s.io/yaml turns a YAML scalar into a string when the target field is a string.
    let str_field = |val: Option<&Value>, what: &str| match val {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(v @ (Value::Bool(_) | Value::Int(_) | Value::Int64(_) | Value::Float(_))) => Ok(v.to_string()),
        Some(other) => Err(bad(what, other, "string")),
    };
    str_field(m.get("apiVersion"), "SimpleHead.apiVersion")?;
    let kind = str_field(m.get("kind"), "SimpleHead.kind")?;
    let mut name = String::new();
    let mut annotations = Vec::new();
    match m.get("metadata") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(md)) => {
            let md = md.borrow();
            name = str_field(md.get("name"), "SimpleHead.metadata.name")?;
            match md.get("annotations") {
                None | Some(Value::Nil) => {}
                Some(Value::Map(a)) => {
                    for (k, v) in a.borrow().iter() {
                        let s = str_field(Some(v), "SimpleHead.metadata.annotations")?;
                        annotations.push((k.clone(), s));
                    }
                }
                Some(other) => {
                    return Err(bad("SimpleHead.metadata.annotations", other, "map[string]string"));
                }
            }
        }
        Some(other) => {
            return Err(bad(
                "SimpleHead.metadata",
                other,
                "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
            ));
        }
    }
    Ok((kind, name, annotations))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "value",
    }
}

fn sort_by_kind(ms: &mut [Manifest]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    ms.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// Helm's `--show-only`: the documents of `text` whose `# Source:` path (without the chart name) matches one
/// of the patterns, grouped by pattern in the given order.
pub fn show_only(text: &str, patterns: &[String]) -> Result<String> {
    let docs = split_manifests(text);
    let mut picked: Vec<&str> = Vec::new();
    for pattern in patterns {
        let pattern = pattern.replace('\\', "/");
        let mut missing = true;
        for doc in &docs {
            let Some(path) = source_path(doc) else { continue };
            if !crate::glob::path_match(&pattern, path).unwrap_or(false) {
                continue;
            }
            picked.push(doc);
            missing = false;
        }
        if missing {
            return Err(Error::ShowOnly(pattern));
        }
    }
    let mut out = String::new();
    for d in picked {
        out.push_str("---\n");
        out.push_str(d);
        out.push('\n');
    }
    Ok(out)
}

/// The path after the chart name in the first `# Source: CHART/PATH` of a document (regex
/// `# Source: [^/]+/(.+)`).
fn source_path(doc: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(i) = doc[from..].find("# Source: ") {
        let rest = &doc[from + i + "# Source: ".len()..];
        let line = rest.split('\n').next().unwrap_or(rest);
        if let Some(slash) = line.find('/')
            && slash > 0
            && slash + 1 < line.len()
        {
            return Some(&line[slash + 1..]);
        }
        from += i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        let docs = split_manifests("a: 1\n---\nb: 2   \n\n\n--- \n---\n# c\nc: 3\n");
        assert_eq!(docs, vec!["a: 1\n", "b: 2   \n\n\n", "# c\nc: 3\n"]);
    }

    #[test]
    fn finds_source_paths() {
        assert_eq!(
            source_path("# Source: demo/templates/a.yaml\nx: 1"),
            Some("templates/a.yaml")
        );
    }
}
