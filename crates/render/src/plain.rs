//! The plain-manifest renderer: directories of `.yaml`, `.yml` and `.json` files.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Problem, RenderError};
use crate::validate::{ObjectKey, validate_object};
use crate::{Manifest, Origin, RenderOptions, Renderer, display_path};

/// Renders a directory of plain manifests.
///
/// - Files ending in `.yaml`, `.yml` or `.json` (case-insensitive), found recursively; entries whose name
///   starts with `.` (hidden files, `.git`, `.github`, ...) are skipped. Within a directory, entries are
///   visited in byte order of their names, files and subdirectories interleaved, so the output order is
///   deterministic.
/// - YAML files may hold several documents (`---`); empty documents are skipped. JSON files may hold one
///   value or a stream of values.
/// - `kind: List` (and any `*List` kind with an `items` array) is expanded into its items.
/// - Every object is validated ([`validate_object`]) and an object defined twice (same group, kind,
///   namespace and name) is an error. All problems are reported at once, each with `file:line`.
/// - Symbolic links are followed only when they stay inside the directory being rendered.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainRenderer;

impl PlainRenderer {
    /// The renderer's name, as [`Renderer::name`] returns it and errors and source types name it.
    pub const NAME: &'static str = "plain";
}

fn is_manifest_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("json")
    })
}

/// Larger manifest files are refused (the Kubernetes API server itself limits a request to 3 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// More YAML documents in one file are refused, with a message naming this limit.
pub const MAX_DOCUMENTS_PER_FILE: usize = 100_000;

/// The file names Kustomize reads as a kustomization.
fn is_kustomization_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| matches!(n, "kustomization.yaml" | "kustomization.yml" | "Kustomization"))
}

pub(crate) const KUSTOMIZE_HINT: &str = "this is a Kustomize file (kustomization.yaml or a Component), not a \
    Kubernetes object; render this directory with the kustomize renderer, or move the file out of it";

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

impl Renderer for PlainRenderer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn detect(&self, dir: &Path) -> bool {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        let Ok(root) = dir.canonicalize() else {
            return false;
        };
        walk(
            dir,
            &root,
            &mut HashSet::new(),
            &mut files,
            &mut errors,
            &RenderOptions::default(),
            true,
        );
        !files.is_empty()
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        let mut manifests = Vec::new();
        PlainRenderer::render_each(dir, opts, &mut |m| manifests.push(m))?;
        Ok(manifests)
    }
}

impl PlainRenderer {
    /// [`Renderer::render`], handing each object to `keep` as soon as its file is read (so that a caller may
    /// keep it in another form). On an error, `keep` may have received objects of the files read before it.
    pub fn render_each(
        dir: &Path,
        opts: &RenderOptions,
        keep: &mut dyn FnMut(Manifest),
    ) -> Result<(), RenderError> {
        if !dir.is_dir() {
            return Err(RenderError::NoSuchDirectory {
                path: display_path(dir, opts),
            });
        }
        let root = dir.canonicalize().map_err(|source| RenderError::Io {
            path: display_path(dir, opts),
            source,
        })?;
        let mut files = Vec::new();
        let mut errors = Vec::new();
        walk(
            dir,
            &root,
            &mut HashSet::new(),
            &mut files,
            &mut errors,
            opts,
            false,
        );

        let mut first: HashMap<ObjectKey, Origin> = HashMap::new();
        let mut duplicates = Vec::new();
        for file in &files {
            let shown = display_path(file, opts);
            if is_kustomization_file(file) {
                errors.push(RenderError::Invalid(Problem {
                    origin: Origin::new(shown, 1),
                    message: KUSTOMIZE_HINT.into(),
                }));
                continue;
            }
            if let Ok(meta) = fs::metadata(file)
                && meta.len() > MAX_FILE_BYTES
            {
                errors.push(RenderError::Invalid(Problem {
                    origin: Origin::new(shown, 0),
                    message: format!(
                        "file is {} bytes, larger than the {} MiB limit for one manifest file; split it",
                        meta.len(),
                        MAX_FILE_BYTES >> 20
                    ),
                }));
                continue;
            }
            let bytes = match fs::read(file) {
                Ok(b) => b,
                Err(source) => {
                    errors.push(RenderError::Io { path: shown, source });
                    continue;
                }
            };
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    errors.push(RenderError::Syntax {
                        origin: Origin::new(shown, 0),
                        message: "file is not UTF-8 text; save it as UTF-8".into(),
                    });
                    continue;
                }
            };
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let decrypted = match crate::decrypt::decrypt_text(file, text, opts) {
                Ok(d) => d,
                Err(message) => {
                    errors.push(RenderError::Syntax {
                        origin: Origin::new(shown, 0),
                        message,
                    });
                    continue;
                }
            };
            let text = decrypted.as_deref().unwrap_or(text);
            let is_json = file
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let documents = if is_json {
                parse_json(text, &shown)
            } else {
                parse_yaml(text, &shown)
            };
            match documents {
                Ok(docs) => {
                    for (line, value) in docs {
                        let mut checked = |m: Manifest| {
                            if let Some(problem) = duplicate(&m, &mut first) {
                                duplicates.push(problem);
                            }
                            keep(m);
                        };
                        collect(value, Origin::new(shown.clone(), line), &mut checked, &mut errors);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        errors.extend(duplicates);
        RenderError::from_many(errors)?;
        Ok(())
    }
}

/// Collects manifest files below `dir` in deterministic order. `seen` holds canonical directories already
/// visited (symbolic-link loops). With `first_only`, stops at the first file found.
fn walk(
    dir: &Path,
    root: &Path,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<RenderError>,
    opts: &RenderOptions,
    first_only: bool,
) {
    if let Ok(canonical) = dir.canonicalize()
        && !seen.insert(canonical)
    {
        return;
    }
    let mut entries = match fs::read_dir(dir) {
        Ok(read_dir) => entries_or_errors(read_dir, dir, errors, opts),
        Err(source) => {
            errors.push(RenderError::Io {
                path: display_path(dir, opts),
                source,
            });
            return;
        }
    };
    entries.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    for (name, path) in entries {
        if first_only && !files.is_empty() {
            return;
        }
        if is_hidden(&name) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let (is_dir, is_file) = if meta.file_type().is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(root) => (target.is_dir(), target.is_file()),
                Ok(_) => {
                    if is_manifest_file(&path) || path.is_dir() {
                        errors.push(RenderError::Invalid(Problem {
                            origin: Origin::new(display_path(&path, opts), 0),
                            message: "symbolic link points outside the directory being rendered; tack does \
                                      not follow it (copy the file into the directory instead)"
                                .into(),
                        }));
                    }
                    continue;
                }
                // A dangling link: not a manifest.
                Err(_) => continue,
            }
        } else {
            (meta.is_dir(), meta.is_file())
        };
        if is_dir {
            walk(&path, root, seen, files, errors, opts, first_only);
        } else if is_file && is_manifest_file(&path) {
            files.push(path);
        }
    }
}

fn entries_or_errors(
    entries: fs::ReadDir,
    dir: &Path,
    errors: &mut Vec<RenderError>,
    opts: &RenderOptions,
) -> Vec<(std::ffi::OsString, PathBuf)> {
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => out.push((e.file_name(), e.path())),
            Err(source) => errors.push(RenderError::Io {
                path: display_path(dir, opts),
                source,
            }),
        }
    }
    out
}

/// Parses every YAML document of `text` into `(line of the document start, value)`; null documents are
/// dropped.
fn parse_yaml(text: &str, shown: &Path) -> Result<Vec<(u64, Value)>, RenderError> {
    // YAML 1.1 scalars, as kubectl reads them (go-yaml): `yes`/`no`/`on`/`off` are booleans (serde-saphyr's
    // default) and integers with a leading zero are octal (`defaultMode: 0644` is 420).
    let options = serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        // Files are at most MAX_FILE_BYTES: node and event counts follow from that; alias bombs keep their
        // own limits.
        budget: serde_saphyr::budget! {
            max_documents: MAX_DOCUMENTS_PER_FILE,
            max_nodes: 20_000_000,
            max_events: 40_000_000,
        },
    };
    match serde_saphyr::from_multiple_with_options::<serde_saphyr::Spanned<Value>>(text, options) {
        Ok(docs) => Ok(docs
            .into_iter()
            .filter(|d| !d.value.is_null())
            .map(|d| {
                let mut value = d.value;
                integral_floats_as_integers(&mut value);
                (d.referenced.line(), value)
            })
            .collect()),
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            let message = yaml_message(&e);
            let message = if message.contains("budget breached") && message.contains("Documents") {
                format!(
                    "more than {MAX_DOCUMENTS_PER_FILE} YAML documents in one file (tack's limit per file); \
                     split the file"
                )
            } else if message.contains("budget breached") {
                format!("the file exceeds a YAML parser limit ({message}); split or simplify it")
            } else {
                format!("invalid YAML: {message}; fix the syntax of this document")
            };
            Err(RenderError::Syntax {
                origin: Origin::new(shown, line),
                message,
            })
        }
    }
}

/// Writes floats without a fractional part (`3.0`, `1e3`) as integers, as kubectl does when it converts YAML
/// to JSON (Go encodes the float64 3 as `3`); the API server rejects `3.0` for an integer field.
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if !n.is_i64()
                && !n.is_u64()
                && let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// The parser's message without its own location suffix (the origin already carries the line).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or(&full).trim();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// Parses a JSON file holding one value or a stream of values.
fn parse_json(text: &str, shown: &Path) -> Result<Vec<(u64, Value)>, RenderError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(mut value)) => {
                integral_floats_as_integers(&mut value);
                let skipped = text[start..].len() - text[start..].trim_start().len();
                let line = 1 + text[..start + skipped].matches('\n').count() as u64;
                if !value.is_null() {
                    out.push((line, value));
                }
            }
            Some(Err(e)) => {
                let mut message = e.to_string();
                if let Some(i) = message.rfind(" at line ") {
                    message.truncate(i);
                }
                return Err(RenderError::Syntax {
                    origin: Origin::new(shown, e.line() as u64),
                    message: format!("invalid JSON: {message} (column {}); fix the syntax", e.column()),
                });
            }
        }
    }
    Ok(out)
}

fn is_list(value: &Value) -> bool {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    kind == "List" || (kind.ends_with("List") && value.get("items").is_some_and(Value::is_array))
}

/// Validates `value` (expanding lists), handing each object to `keep`, or records its problems in `errors`.
fn collect(value: Value, origin: Origin, keep: &mut dyn FnMut(Manifest), errors: &mut Vec<RenderError>) {
    if is_list(&value) {
        let items = match value {
            Value::Object(mut map) => map.remove("items"),
            _ => None,
        };
        match items {
            Some(Value::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    if item.is_null() {
                        continue;
                    }
                    match validate_object(&item) {
                        Ok(()) => keep(Manifest {
                            object: item,
                            origin: origin.clone(),
                        }),
                        Err(problem) => errors.push(RenderError::Invalid(Problem {
                            origin: origin.clone(),
                            message: format!("items[{i}]: {problem}"),
                        })),
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => errors.push(RenderError::Invalid(Problem {
                origin,
                message: "`kind: List` needs `items:` to be a list of objects".into(),
            })),
        }
        return;
    }
    match validate_object(&value) {
        Ok(()) => keep(Manifest {
            object: value,
            origin,
        }),
        Err(message) => errors.push(RenderError::Invalid(Problem { origin, message })),
    }
}

/// The problem when `m` names an object seen before (`first` holds where each object was first seen).
fn duplicate(m: &Manifest, first: &mut HashMap<ObjectKey, Origin>) -> Option<RenderError> {
    let key = ObjectKey::of(&m.object)?;
    if let Some(prev) = first.get(&key) {
        return Some(RenderError::Invalid(Problem {
            origin: m.origin.clone(),
            message: format!("{key} is also defined at {prev}; remove one of the two"),
        }));
    }
    first.insert(key, m.origin.clone());
    None
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
