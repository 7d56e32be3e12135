//! Rendering: the one place that decides how a directory becomes Kubernetes objects.
//!
//! A [`Renderer`] turns a directory (usually a path inside a Git checkout) into a list of Kubernetes objects,
//! each with the [`Origin`] it came from, so that every later error (validation, apply, conflicts) can point
//! at `file:line`. [`render`] picks the renderer from the registry ([`renderers`], most specific first: a
//! Helm chart, Kustomize, Jsonnet, then plain manifests) and runs it; `tack render/diff/sync`, the controller and the demo all call
//! it, and nothing else chooses a renderer. The engines live in their own crates (`tack-kustomize`, …); their
//! adapters to the [`Renderer`] trait live here.
//!
//! Confinement is decided here too: with [`RenderOptions::confine_to`] set (every Git source), every file
//! any renderer reads must lie inside that checkout ([`confine`]).
//!
//! SOPS-encrypted files are decrypted in memory as renderers read them, with [`RenderOptions::decrypt`]
//! (module `decrypt`).
//!
//! Renderers are pure: they read the filesystem and nothing else. The exception is [`GitRemoteBases`], which
//! fetches Kustomize remote bases (`resources:` entries that are Git URLs) into tack's Git cache.
//!
//! ```no_run
//! use std::path::Path;
//! use tack_render::{PlainRenderer, RenderOptions, Renderer};
//!
//! let root = Path::new("/var/cache/tack/trees/0123456789abcdef0123456789abcdef01234567");
//! let opts = RenderOptions { display_root: Some(root.to_path_buf()), ..Default::default() };
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

#![warn(missing_docs)]

pub mod confine;
mod decrypt;
mod error;
mod helm;
mod hooks;
mod jsonnet;
mod kustomize;
mod packed;
mod plain;
mod remote_bases;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{Problem, RenderError};
pub use helm::{
    HelmRenderer, KustomizeHelmCharts, MAX_ARCHIVE_BYTES, is_chart_archive, render_chart_archive,
};
pub use hooks::{DeletePolicy, HOOK_ANNOTATIONS, Hook, HookKind, HookPhase, classify_hook, hook_of};
pub use jsonnet::JsonnetRenderer;
pub use kustomize::KustomizeRenderer;
pub use packed::{Head, PackedManifest, PackedObject, pack_all, render_packed};
pub use plain::{MAX_FILE_BYTES, PlainRenderer};
pub use remote_bases::{GitRemoteBases, RemoteBaseCheck};
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
    /// The location `file`:`line` (`line` 1-based, 0 when unknown).
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
    /// Where it was rendered from (file:line).
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
    /// The checkout of the application's repository: when set, every file a renderer reads must lie inside
    /// it (`..` and symbolic links included; remote bases the source names are allowed). `None`: a directory
    /// on the user's own disk, read as `kubectl kustomize` would.
    pub confine_to: Option<PathBuf>,
    /// tack's source cache ([`tack_source::default_cache_dir`]), where remote bases are fetched to. `None`:
    /// remote bases are an error.
    pub cache_dir: Option<PathBuf>,
    /// Which remote bases may be fetched (default: all).
    pub remote_bases: RemoteBaseCheck,
    /// Report per-phase build timings (Kustomize).
    pub timings: bool,
    /// `helm template`'s options for a chart (release name, values files relative to the chart folder,
    /// `--set` family, ...). `None`: Helm's defaults.
    pub helm: Option<tack_helm::Options>,
    /// Values given inline (a GitOpsConfig's `helm.values` / `valuesObject`), as (name shown in errors, YAML
    /// or JSON text), merged after the values files and before `--set`.
    pub helm_inline_values: Vec<(String, String)>,
    /// A values file that does not exist is skipped instead of being an error.
    pub helm_ignore_missing_value_files: bool,
    /// A Jsonnet source's options (variables, top-level arguments, library paths, file selection,
    /// extraction). `None`: the defaults.
    pub jsonnet: Option<tack_jsonnet::JsonnetOptions>,
    /// age identities for SOPS-encrypted files: plain manifests, Kustomize inputs and Helm values files
    /// that hold SOPS metadata are decrypted in memory as they are read. `None`: such a file is an error.
    pub decrypt: Option<std::sync::Arc<tack_sops::Identities>>,
}

/// What a source rendered to.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// The objects, in output order.
    pub manifests: Vec<Manifest>,
    /// The text the reference tool prints for this source (`kubectl kustomize` for Kustomize).
    pub yaml: String,
    /// The renderer's [`Renderer::name`].
    pub engine: &'static str,
    /// Warnings, as the reference tool prints them on stderr.
    pub warnings: Vec<String>,
    /// With [`RenderOptions::timings`]: one line per build phase (`kustomize timing: PHASE: TIME (N×)`).
    pub timings: Vec<String>,
}

/// The seam between sources and renderers.
pub trait Renderer: Send + Sync {
    /// A short, stable name: `plain`, `kustomize`, `helm`, `jsonnet`.
    fn name(&self) -> &'static str;
    /// Whether this renderer recognises `dir` (for auto-detection). Must be cheap and must not fail.
    fn detect(&self, dir: &Path) -> bool;
    /// Renders `dir` into validated objects, in a deterministic order.
    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError>;
    /// Renders `dir` with the reference tool's text output and warnings. The default prints the objects as
    /// YAML documents.
    fn render_output(&self, dir: &Path, opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let manifests = self.render(dir, opts)?;
        let yaml = tack_yaml::to_yaml_stream(manifests.iter().map(|m| &m.object));
        Ok(Rendered {
            manifests,
            yaml,
            engine: self.name(),
            warnings: Vec::new(),
            timings: Vec::new(),
        })
    }
}

/// Every renderer, most specific first: the first that recognises a directory renders it (a Helm chart,
/// Kustomize, Jsonnet, plain manifests). The plain renderer comes last, since it takes any directory.
pub fn renderers() -> &'static [&'static dyn Renderer] {
    &[
        &HelmRenderer,
        &KustomizeRenderer,
        &JsonnetRenderer,
        &PlainRenderer,
    ]
}

/// The renderer for `dir`: the first of [`renderers`] that recognises it.
pub fn select(dir: &Path) -> &'static dyn Renderer {
    renderers()
        .iter()
        .copied()
        .find(|r| r.detect(dir))
        .unwrap_or(&PlainRenderer)
}

/// Renders `dir` with the renderer [`select`] picks. With [`RenderOptions::confine_to`], `dir` itself must lie
/// inside the checkout.
pub fn render(dir: &Path, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    if let Some(root) = &opts.confine_to {
        let roots = confine::Roots::new(root);
        roots.check(dir).map_err(|e| RenderError::Io {
            path: display_path(dir, opts),
            source: e,
        })?;
    }
    if is_chart_archive(dir) {
        return HelmRenderer.render_output(dir, opts);
    }
    if !dir.is_dir() {
        return Err(RenderError::NoSuchDirectory {
            path: display_path(dir, opts),
        });
    }
    select(dir).render_output(dir, opts)
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
            ..Default::default()
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
