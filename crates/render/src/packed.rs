//! Rendered objects kept compact: [`PackedObject`] holds an object as its JSON text (a small ConfigMap takes
//! about 200 bytes that way, against about 3 KB as a `serde_json::Value` tree of maps), parsed again where it is
//! looked at. A large application's rendered manifests are held this way from the moment they are read
//! ([`render_packed`]) until they are applied, so its memory stays proportional to its text, not to its trees.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{HelmRenderer, Manifest, Origin, PlainRenderer, RenderError, RenderOptions, Renderer, confine};

/// Objects nested deeper than this are kept as a tree: serde_json reads back at most 128 levels.
const MAX_TEXT_DEPTH: usize = 100;

/// One object, kept as its JSON text (keys in sorted order, as `serde_json::Value` writes them); [`value`]
/// parses it back into the same tree. An object nested too deep to be read back from text is kept as it is.
///
/// [`value`]: PackedObject::value
#[derive(Clone, Debug, PartialEq)]
pub struct PackedObject(Packed);

#[derive(Clone, Debug, PartialEq)]
enum Packed {
    Text(Box<str>),
    Tree(Box<Value>),
}

/// The fields of an object that name it, read from its text without building its tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// `apiVersion` (empty when unset).
    pub api_version: String,
    /// `kind` (empty when unset).
    pub kind: String,
    /// `metadata.name` (empty when unset).
    pub name: String,
    /// `metadata.namespace` (empty when unset).
    pub namespace: String,
}

#[derive(Deserialize, Default)]
struct HeadText {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<MetaText>,
}

#[derive(Deserialize, Default)]
struct MetaText {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

impl PackedObject {
    /// Packs `object`.
    pub fn pack(object: &Value) -> PackedObject {
        if depth(object) > MAX_TEXT_DEPTH {
            return PackedObject(Packed::Tree(Box::new(object.clone())));
        }
        PackedObject(Packed::Text(object.to_string().into_boxed_str()))
    }

    /// Packs `object`, letting go of its tree.
    pub fn from_value(object: Value) -> PackedObject {
        if depth(&object) > MAX_TEXT_DEPTH {
            return PackedObject(Packed::Tree(Box::new(object)));
        }
        PackedObject(Packed::Text(object.to_string().into_boxed_str()))
    }

    /// The object as a tree.
    pub fn value(&self) -> Value {
        match &self.0 {
            // Written by serde_json from a tree of bounded depth: it reads back.
            Packed::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Packed::Tree(tree) => (**tree).clone(),
        }
    }

    /// The object as JSON text.
    pub fn json(&self) -> std::borrow::Cow<'_, str> {
        match &self.0 {
            Packed::Text(text) => std::borrow::Cow::Borrowed(text),
            Packed::Tree(tree) => std::borrow::Cow::Owned(tree.to_string()),
        }
    }

    /// `apiVersion`, `kind`, `metadata.name` and `metadata.namespace`, without building the tree.
    pub fn head(&self) -> Head {
        let parsed: HeadText = match &self.0 {
            Packed::Text(text) => serde_json::from_str(text).unwrap_or_default(),
            Packed::Tree(tree) => HeadText::deserialize(&**tree).unwrap_or_default(),
        };
        let meta = parsed.metadata.unwrap_or_default();
        Head {
            api_version: parsed.api_version.unwrap_or_default(),
            kind: parsed.kind.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            namespace: meta.namespace.unwrap_or_default(),
        }
    }

    /// Whether the text of the object contains `needle` (a cheap test before parsing, e.g. for an annotation
    /// key: `false` means the object certainly does not hold it).
    pub fn mentions(&self, needle: &str) -> bool {
        match &self.0 {
            Packed::Text(text) => text.contains(needle),
            Packed::Tree(_) => true,
        }
    }
}

impl From<Value> for PackedObject {
    fn from(object: Value) -> Self {
        PackedObject::from_value(object)
    }
}

/// The nesting depth of `value` (a scalar is 0), counted up to a little past [`MAX_TEXT_DEPTH`].
fn depth(value: &Value) -> usize {
    fn walk(value: &Value, at: usize) -> usize {
        if at > MAX_TEXT_DEPTH {
            return at;
        }
        match value {
            Value::Array(items) => items.iter().map(|v| walk(v, at + 1)).max().unwrap_or(at + 1),
            Value::Object(map) => map.values().map(|v| walk(v, at + 1)).max().unwrap_or(at + 1),
            _ => at,
        }
    }
    walk(value, 0)
}

/// A rendered object kept compact, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedManifest {
    /// The object, as it will be sent to the API server.
    pub object: PackedObject,
    /// Where it was rendered from (file:line).
    pub origin: Origin,
}

impl PackedManifest {
    /// The manifest with its object as a tree.
    pub fn unpack(&self) -> Manifest {
        Manifest {
            object: self.object.value(),
            origin: self.origin.clone(),
        }
    }
}

impl From<Manifest> for PackedManifest {
    fn from(m: Manifest) -> Self {
        PackedManifest {
            object: PackedObject::from_value(m.object),
            origin: m.origin,
        }
    }
}

/// Packs `manifests`, letting go of each tree as it is packed.
pub fn pack_all(manifests: Vec<Manifest>) -> Vec<PackedManifest> {
    manifests.into_iter().map(PackedManifest::from).collect()
}

/// [`crate::render`] with the objects kept compact, and without the text output of the reference tool: the
/// renderer's name and the objects. Plain manifests are packed file by file as they are read (the trees of a
/// whole directory are never held at once); the other renderers' output is packed once rendered.
pub fn render_packed(
    dir: &Path,
    opts: &RenderOptions,
) -> Result<(&'static str, Vec<PackedManifest>), RenderError> {
    if let Some(root) = &opts.confine_to {
        let roots = confine::Roots::new(root);
        roots.check(dir).map_err(|e| RenderError::Io {
            path: crate::display_path(dir, opts),
            source: e,
        })?;
    }
    if crate::is_chart_archive(dir) {
        return Ok((HelmRenderer::NAME, pack_all(HelmRenderer.render(dir, opts)?)));
    }
    if !dir.is_dir() {
        return Err(RenderError::NoSuchDirectory {
            path: crate::display_path(dir, opts),
        });
    }
    let renderer = crate::select(dir);
    if renderer.name() == PlainRenderer::NAME {
        let mut out = Vec::new();
        PlainRenderer::render_each(dir, opts, &mut |m| out.push(PackedManifest::from(m)))?;
        return Ok((PlainRenderer::NAME, out));
    }
    Ok((renderer.name(), pack_all(renderer.render(dir, opts)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_reads_back_equal_and_names_itself() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns", "annotations": {"a": "b"}},
            "data": {"n": 1, "f": 1.5, "big": 18_446_744_073_709_551_615u64, "neg": -3, "s": "é\n\"x\""}});
        let p = PackedObject::pack(&o);
        assert_eq!(p.value(), o);
        assert_eq!(
            p.head(),
            Head {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: "c".into(),
                namespace: "ns".into()
            }
        );
        assert!(p.mentions("\"annotations\"") && !p.mentions("hook"));
        assert_eq!(PackedObject::pack(&json!({"kind": "X"})).head().name, "");
    }

    #[test]
    fn a_deep_object_is_kept_as_a_tree() {
        let mut o = json!("leaf");
        for _ in 0..200 {
            o = json!({ "a": o });
        }
        let p = PackedObject::from_value(o.clone());
        assert_eq!(
            p.value(),
            o,
            "read back whole, not lost to serde_json's depth limit"
        );
        assert!(p.mentions("anything"), "a tree may hold anything");
    }

    #[test]
    fn a_packed_object_is_much_smaller_than_its_tree() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-12345",
            "namespace": "bench", "annotations": {"tack.dev/applied-digest": "0123456789abcdef"}},
            "data": {"index": "12345", "value": "first"}});
        let PackedObject(Packed::Text(text)) = PackedObject::pack(&o) else {
            panic!("a shallow object is kept as text")
        };
        assert!(text.len() < 250, "{}", text.len());
    }
}
