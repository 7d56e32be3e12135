//! Argo CD-style Jsonnet directory sources: every `*.jsonnet` file of a directory evaluated to Kubernetes
//! manifests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Error, EvalOptions, Extract, Input, JsonnetOptions};

/// Whether `dir` holds `*.jsonnet` files (directly).
pub fn detect(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "jsonnet") && e.path().is_file())
    })
}

/// Evaluates every `*.jsonnet` file of `dir` (in path order; subdirectories with `recurse`) with imports confined
/// to `root`, and returns the manifests: an object result is one manifest, an array a list of them, `kind: List`
/// expanded, or with [`Extract::Nested`] every Kubernetes object found in the result.
pub fn render_dir(dir: &Path, root: &Path, options: &JsonnetOptions) -> Result<Vec<Value>, Error> {
    Ok(render_manifests(dir, Some(root), options)?
        .into_iter()
        .map(|m| m.object)
        .collect())
}

/// One manifest of a directory source, with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FileManifest {
    /// The `*.jsonnet` file, relative to the rendered directory.
    pub file: PathBuf,
    /// The manifest: one object of the file's output, as go-jsonnet evaluates it.
    pub object: Value,
}

/// As [`render_dir`], with each manifest's file. With `root`, imports are confined to it, library paths are
/// relative to it and error locations are shown relative to it; without, imports are unconfined (the `jsonnet`
/// command's behaviour) and library paths are taken as given.
pub fn render_manifests(
    dir: &Path,
    root: Option<&Path>,
    options: &JsonnetOptions,
) -> Result<Vec<FileManifest>, Error> {
    let include = options.include.as_deref().map(glob).transpose()?;
    let exclude = options.exclude.as_deref().map(glob).transpose()?;
    let mut files = Vec::new();
    collect(dir, dir, options.recurse, &mut files)?;
    files.sort();
    let eval = EvalOptions {
        ext_vars: options.ext_vars.clone(),
        tlas: options.tlas.clone(),
        jpath: options
            .libs
            .iter()
            .map(|lib| root.map_or_else(|| lib.clone(), |r| r.join(lib)))
            .collect(),
        confine: root.map(Path::to_path_buf),
        display_root: root.map(Path::to_path_buf),
        timeout: options.timeout.unwrap_or(EvalOptions::default().timeout),
        ..EvalOptions::default()
    };
    let selected: Vec<PathBuf> = files
        .into_iter()
        .filter(|rel| {
            let text = rel.to_string_lossy();
            include.as_ref().is_none_or(|g| g.is_match(text.as_ref()))
                && !exclude.as_ref().is_some_and(|g| g.is_match(text.as_ref()))
        })
        .collect();
    // One evaluator for the directory: the standard library and shared libraries are parsed once.
    let inputs = selected.iter().map(|rel| Input::File(dir.join(rel))).collect();
    let values = crate::evaluate_all(inputs, &eval)?;
    let mut manifests = Vec::new();
    for (rel, value) in selected.into_iter().zip(values) {
        let file = rel.to_string_lossy().to_string();
        let mut objects = Vec::new();
        match options.extract {
            Extract::TopLevel => top_level(value, &file, &mut objects)?,
            Extract::Nested => nested(value, &mut objects),
        }
        manifests.extend(objects.into_iter().map(|object| FileManifest {
            file: rel.clone(),
            object,
        }));
    }
    Ok(manifests)
}

/// Checks that `pattern` is a glob [`JsonnetOptions::include`] and `exclude` accept.
pub fn check_glob(pattern: &str) -> Result<(), Error> {
    glob(pattern).map(|_| ())
}

fn glob(pattern: &str) -> Result<globset::GlobMatcher, Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::Glob {
            pattern: pattern.into(),
            message: e.to_string(),
        })
}

fn collect(base: &Path, dir: &Path, recurse: bool, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() && recurse {
            collect(base, &path, recurse, out)?;
        } else if kind.is_file()
            && path.extension().is_some_and(|x| x == "jsonnet")
            && let Ok(rel) = path.strip_prefix(base)
        {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// Argo CD: an object is one manifest (a `kind: List` its items), an array a list of manifests.
fn top_level(value: Value, file: &str, out: &mut Vec<Value>) -> Result<(), Error> {
    match value {
        Value::Array(items) => {
            for item in items {
                top_level(item, file, out)?;
            }
            Ok(())
        }
        Value::Object(mut map) => {
            if map.get("kind").and_then(Value::as_str) == Some("List")
                && let Some(Value::Array(items)) = map.remove("items")
            {
                out.extend(items);
                return Ok(());
            }
            out.push(Value::Object(map));
            Ok(())
        }
        Value::Null => Ok(()),
        other => Err(Error::Shape {
            file: file.into(),
            message: format!(
                "the result must be an object or an array of objects, got {}",
                crate::manifest::type_name(&other)
            ),
        }),
    }
}

/// Tanka: Kubernetes objects (with `apiVersion` and `kind`) anywhere in the result, `kind: List` expanded; object
/// keys are walked in sorted order, arrays in order.
fn nested(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|item| nested(item, out)),
        Value::Object(mut map) => {
            let is_object = map.get("apiVersion").is_some_and(Value::is_string)
                && map.get("kind").is_some_and(Value::is_string);
            if is_object {
                if map.get("kind").and_then(Value::as_str) == Some("List")
                    && let Some(Value::Array(items)) = map.remove("items")
                {
                    items.into_iter().for_each(|item| nested(item, out));
                    return;
                }
                out.push(Value::Object(map));
                return;
            }
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, v) in entries {
                nested(v, out);
            }
        }
        _ => {}
    }
}
