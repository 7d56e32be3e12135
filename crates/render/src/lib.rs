//! Rendering: the `Renderer` seam and the plain-manifest renderer.
//!
//! A [`Renderer`] turns a directory (usually a path inside a Git checkout) into a list of Kubernetes objects,
//! each with the [`Origin`] it came from, so that every later error (validation, apply, conflicts) can point
//! at `file:line`. The plain renderer ([`PlainRenderer`]) reads `.yaml`, `.yml` and `.json` files; Kustomize,
//! Helm and Jsonnet renderers live in their own crates and implement the same trait.
//!
//! Renderers are pure: they read the filesystem below the directory they are given and nothing else. The
//! exception is [`GitRemoteBases`], which fetches Kustomize remote bases (`resources:` entries that are Git
//! URLs) into tack's Git cache for the Kustomize engine.
//!
//! ```no_run
//! use std::path::Path;
//! use tack_render::{PlainRenderer, RenderOptions, Renderer};
//!
//! let root = Path::new("/var/cache/tack/trees/0123456789abcdef0123456789abcdef01234567");
//! let opts = RenderOptions { display_root: Some(root.to_path_buf()) };
//! match PlainRenderer.render(&root.join("guestbook"), &opts) {
//!     Ok(manifests) => {
//!         for m in &manifests {
//!             println!("{} {} from {}", m.object["kind"], m.object["metadata"]["name"], m.origin);
//!         }
//!     }
//!     // For example `guestbook/frontend.yaml:12: object has no metadata.name; ...`
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```

mod error;
mod plain;
mod remote_bases;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{Problem, RenderError};
pub use plain::{MAX_FILE_BYTES, PlainRenderer};
pub use remote_bases::GitRemoteBases;
pub use validate::{ObjectKey, validate_object};

/// Where an object came from: the file and the line its document starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The file, as a path relative to [`RenderOptions::display_root`] when that is set and contains it,
    /// otherwise the path under the rendered directory as it was given.
    pub file: PathBuf,
    /// 1-based line of the document start (the first line of the object's content); 0 when unknown.
    pub line: u64,
}

impl Origin {
    pub fn new(file: impl Into<PathBuf>, line: u64) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

/// One rendered Kubernetes object.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The object, as it will be sent to the API server (JSON).
    pub object: serde_json::Value,
    pub origin: Origin,
}

impl Manifest {
    /// The identity of the object (group, kind, namespace, name) when it has one.
    pub fn key(&self) -> Option<ObjectKey> {
        ObjectKey::of(&self.object)
    }
}

/// Options shared by all renderers. Build it with `RenderOptions { field: .., ..Default::default() }`: other
/// renderers add their own fields.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Paths in origins and errors are shown relative to this directory (typically the root of a Git
    /// checkout, so that errors read `guestbook/frontend.yaml:12`). When `None`, or when a file is not under
    /// it, paths are shown as `dir.join(relative path)`.
    pub display_root: Option<PathBuf>,
}

/// The seam between sources and renderers.
pub trait Renderer: Send + Sync {
    /// A short, stable name: `plain`, `kustomize`, `helm`, `jsonnet`.
    fn name(&self) -> &'static str;
    /// Whether this renderer recognises `dir` (for auto-detection). Must be cheap and must not fail.
    fn detect(&self, dir: &Path) -> bool;
    /// Renders `dir` into validated objects, in a deterministic order.
    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError>;
}

/// The first renderer of `renderers` that recognises `dir`. Order the list by specificity (for instance
/// Kustomize, then Helm, then Jsonnet, then plain), since the plain renderer recognises any directory with
/// manifests in it.
pub fn detect<'a>(renderers: &'a [Box<dyn Renderer>], dir: &Path) -> Option<&'a dyn Renderer> {
    renderers.iter().map(|r| r.as_ref()).find(|r| r.detect(dir))
}

/// Formats `path` for origins and errors according to `opts.display_root`.
pub fn display_path(path: &Path, opts: &RenderOptions) -> PathBuf {
    if let Some(root) = &opts.display_root
        && let Ok(rel) = path.strip_prefix(root)
    {
        return rel.to_path_buf();
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_display() {
        assert_eq!(
            Origin::new("guestbook/frontend.yaml", 12).to_string(),
            "guestbook/frontend.yaml:12"
        );
        assert_eq!(Origin::new("a.yaml", 0).to_string(), "a.yaml");
    }

    #[test]
    fn display_path_strips_root() {
        let opts = RenderOptions {
            display_root: Some(PathBuf::from("/cache/trees/abc")),
        };
        assert_eq!(
            display_path(Path::new("/cache/trees/abc/guestbook/a.yaml"), &opts),
            PathBuf::from("guestbook/a.yaml")
        );
        assert_eq!(
            display_path(Path::new("/elsewhere/a.yaml"), &opts),
            PathBuf::from("/elsewhere/a.yaml")
        );
    }
}
