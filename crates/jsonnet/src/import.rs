//! Import resolution as go-jsonnet's file importer does it (the importing file's directory, then the library
//! paths, the last one first), optionally confined to a set of root directories.

use std::path::{Path, PathBuf};

/// Finds imported files. Paths are handled as strings the way go-jsonnet does (`path.Join` of the importing
/// file's directory and the imported path), so error messages and `std.thisFile` name files alike.
#[derive(Debug, jrsonnet_gcmodule::Acyclic)]
pub(crate) struct Resolver {
    jpath: Vec<String>,
    /// Canonical directories imports must stay inside; `None` leaves imports unconfined.
    roots: Option<Vec<PathBuf>>,
}

/// An imported file, found (the engine reads it).
#[derive(Debug)]
pub(crate) struct Found {
    /// The name go-jsonnet gives it (used in errors and `std.thisFile`).
    pub(crate) name: String,
}

impl Resolver {
    /// `confine` is the root directory; the library paths are allowed roots too. Root directories that do not
    /// exist are left out.
    pub(crate) fn new(jpath: &[PathBuf], confine: Option<&Path>) -> Self {
        let roots = confine.map(|root| {
            std::iter::once(root)
                .chain(jpath.iter().map(PathBuf::as_path))
                .filter_map(|dir| std::fs::canonicalize(dir).ok())
                .collect()
        });
        Self {
            jpath: jpath.iter().map(|p| p.display().to_string()).collect(),
            roots,
        }
    }

    /// Resolves `imported` from the file named `from`. The error is the message of go-jsonnet's (or of the
    /// confinement) without the location.
    pub(crate) fn resolve(&self, from: &str, imported: &str) -> Result<Found, String> {
        if self.roots.is_some() && imported.starts_with('/') {
            return Err(format!(
                "import {imported:?}: absolute import paths are not allowed"
            ));
        }
        let dir = dir_of(from);
        if let Some(found) = self.try_dir(dir, imported)? {
            return Ok(found);
        }
        for lib in self.jpath.iter().rev() {
            if let Some(found) = self.try_dir(lib, imported)? {
                return Ok(found);
            }
        }
        Err(format!(
            "couldn't open import {imported:?}: no match locally or in the Jsonnet library paths"
        ))
    }

    fn try_dir(&self, dir: &str, imported: &str) -> Result<Option<Found>, String> {
        let name = if imported.starts_with('/') {
            clean(imported)
        } else {
            clean(&join(dir, imported))
        };
        let path = Path::new(&name);
        if !path.exists() {
            return Ok(None);
        }
        if let Some(roots) = &self.roots {
            let real =
                std::fs::canonicalize(path).map_err(|e| format!("couldn't open import {imported:?}: {e}"))?;
            if !roots.iter().any(|root| real.starts_with(root)) {
                return Err(format!("import {imported:?} resolves outside the root directory"));
            }
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(format!("read {name}: is a directory")),
            Ok(_) => Ok(Some(Found { name })),
            Err(e) => Err(format!("read {name}: {}", io_text(&e))),
        }
    }
}

/// go-jsonnet's wording of common I/O errors (Go's syscall texts).
fn io_text(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(21) {
        return "is a directory".into();
    }
    e.to_string()
}

/// The directory part of a slash path, with its trailing slash (`path.Split`).
fn dir_of(file: &str) -> &str {
    match file.rfind('/') {
        Some(i) => &file[..=i],
        None => "",
    }
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

/// Lexical cleaning of a slash path, as Go's `path.Clean`.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_path_clean() {
        assert_eq!(clean("a/./b/../c"), "a/c");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("a/.."), ".");
        assert_eq!(clean("a//b/"), "a/b");
    }

    #[test]
    fn confined_imports_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(tmp.path().join("secret.libsonnet"), "{}").unwrap();
        std::fs::write(root.join("lib/a.libsonnet"), "{}").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.libsonnet"), root.join("link.libsonnet")).unwrap();
        let resolver = Resolver::new(&[], Some(&root));
        let main = format!("{}/main.jsonnet", root.display());
        assert!(resolver.resolve(&main, "lib/a.libsonnet").is_ok());
        let up = resolver.resolve(&main, "../secret.libsonnet").unwrap_err();
        assert!(up.contains("outside the root"), "{up}");
        let link = resolver.resolve(&main, "link.libsonnet").unwrap_err();
        assert!(link.contains("outside the root"), "{link}");
        let abs = resolver.resolve(&main, "/etc/passwd").unwrap_err();
        assert!(abs.contains("absolute"), "{abs}");
    }
}
