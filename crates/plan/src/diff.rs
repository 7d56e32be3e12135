//! Unified diffs of normalized objects, with Secret values masked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::id::ObjectId;

/// How a Secret value is shown. Different values get masks of different lengths (`++++++++`,
/// `+++++++++`, ...) so that a change stays visible while no value, nor any part of one, is printed
/// (Argo CD does the same).
pub const MASK: &str = "++++++++";

/// Options of [`diff`].
#[derive(Clone, Copy, Debug)]
pub struct DiffOptions {
    /// ANSI colors: removed lines red, added lines green, hunk headers cyan.
    pub color: bool,
    /// Lines of context around changes.
    pub context: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            color: false,
            context: 3,
        }
    }
}

/// Replaces every value under `data` and `stringData` of a Secret, on both sides, by a mask; equal values
/// get equal masks. Also drops annotations that may embed the values (`last-applied-configuration`).
pub fn mask_secret_pair(desired: Option<&mut Value>, live: Option<&mut Value>) {
    let mut sides: Vec<&mut Value> = desired.into_iter().chain(live).collect();
    let mut masks: BTreeMap<String, String> = BTreeMap::new();
    for side in sides.iter_mut() {
        if let Some(a) = side
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
        for field in ["data", "stringData"] {
            if let Some(map) = side.get_mut(field).and_then(Value::as_object_mut) {
                for v in map.values_mut() {
                    let key = match &*v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let n = masks.len();
                    let mask = masks
                        .entry(key)
                        .or_insert_with(|| format!("{MASK}{}", "+".repeat(n)))
                        .clone();
                    *v = Value::String(mask);
                }
            } else if let Some(v) = side.get_mut(field)
                && !v.is_null()
            {
                *v = Value::String(MASK.to_string());
            }
        }
    }
}

/// The unified diff from `live` to `desired` (either may be absent: creation or deletion), as YAML, or
/// `None` when they are equal. Secrets are masked with [`mask_secret_pair`] first.
pub fn diff(
    id: &ObjectId,
    desired: Option<&Value>,
    live: Option<&Value>,
    opts: DiffOptions,
) -> Option<String> {
    let mut desired = desired.cloned();
    let mut live = live.cloned();
    if id.is_secret() {
        mask_secret_pair(desired.as_mut(), live.as_mut());
    }
    if desired == live {
        return None;
    }
    let to_text = |v: &Option<Value>| v.as_ref().map(tack_yaml::to_yaml).unwrap_or_default();
    let old = to_text(&live);
    let new = to_text(&desired);
    let label = if id.namespace.is_empty() {
        format!("{}.{}.{}", id.group_or_core(), id.kind, id.name)
    } else {
        format!("{}.{}.{}.{}", id.group_or_core(), id.kind, id.namespace, id.name)
    };
    let text_diff = TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    let (bold, red, green, cyan, reset) = if opts.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let _ = writeln!(out, "{bold}--- live/{label}{reset}");
    let _ = writeln!(out, "{bold}+++ desired/{label}{reset}");
    for hunk in text_diff.unified_diff().context_radius(opts.context).iter_hunks() {
        let _ = writeln!(out, "{cyan}{}{reset}", hunk.header());
        for change in hunk.iter_changes() {
            let (sign, color) = match change.tag() {
                ChangeTag::Delete => ('-', red),
                ChangeTag::Insert => ('+', green),
                ChangeTag::Equal => (' ', ""),
            };
            let line = change.value();
            let line = line.strip_suffix('\n').unwrap_or(line);
            if color.is_empty() {
                let _ = writeln!(out, "{sign}{line}");
            } else {
                let _ = writeln!(out, "{color}{sign}{line}{reset}");
            }
        }
    }
    Some(out)
}

impl ObjectId {
    fn group_or_core(&self) -> &str {
        if self.group.is_empty() {
            "core"
        } else {
            &self.group
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_objects_have_no_diff() {
        let o =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}});
        assert_eq!(
            diff(
                &ObjectId::new("", "ConfigMap", "n", "a"),
                Some(&o),
                Some(&o),
                DiffOptions::default()
            ),
            None
        );
    }

    #[test]
    fn changed_line_is_shown() {
        let a =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}});
        let b =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "2"}});
        let d = diff(
            &ObjectId::new("", "ConfigMap", "n", "a"),
            Some(&b),
            Some(&a),
            DiffOptions::default(),
        )
        .expect("diff");
        assert!(
            d.starts_with("--- live/core.ConfigMap.n.a\n+++ desired/core.ConfigMap.n.a\n"),
            "{d}"
        );
        assert!(d.contains("\n-  x: \"1\"\n+  x: \"2\"\n"), "{d}");
    }

    #[test]
    fn secret_values_are_never_printed() {
        let id = ObjectId::new("", "Secret", "n", "s");
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"c2VjcmV0LW9sZA==\"}}"}},
            "data": {"password": "c2VjcmV0LW9sZA==", "user": "YWRtaW4="}});
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "c2VjcmV0LW5ldw==", "user": "YWRtaW4="}});
        let d = diff(
            &id,
            Some(&desired),
            Some(&live),
            DiffOptions {
                color: true,
                context: 3,
            },
        )
        .expect("differs");
        for secret in [
            "c2VjcmV0LW9sZA==",
            "c2VjcmV0LW5ldw==",
            "YWRtaW4=",
            "secret",
            "admin",
        ] {
            assert!(!d.contains(secret), "diff shows {secret}: {d}");
        }
        assert!(d.contains("password: ") && d.contains(MASK), "{d}");
        // Only the changed value shows as changed.
        assert_eq!(
            d.lines()
                .filter(|l| l.contains("user:") && (l.contains("\x1b[31m-") || l.contains("\x1b[32m+")))
                .count(),
            0,
            "{d}"
        );
        let created = diff(&id, Some(&desired), None, DiffOptions::default()).expect("creation");
        assert!(!created.contains("c2VjcmV0LW5ldw=="), "{created}");
        let pruned = diff(
            &id,
            None,
            Some(&json!({"kind": "Secret", "data": "weird"})),
            DiffOptions::default(),
        )
        .expect("deletion");
        assert!(!pruned.contains("weird"), "{pruned}");
    }
}
