//! Fetch and render: the blocking half of a reconcile, run under `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};

use tack_render::{Manifest, Origin, PlainRenderer, RenderOptions, Renderer};
use tack_source::{Credentials, Repository, Revision};

use crate::Error;

/// What a source rendered to at one commit.
#[derive(Debug)]
pub struct Fetched {
    /// The full commit SHA.
    pub revision: String,
    /// `plain` or `kustomize`.
    pub engine: &'static str,
    pub manifests: Vec<Manifest>,
}

/// Resolves `revision` of `url`, checks its tree out under `cache_dir` (a commit already there is served without
/// network) and renders `path` inside it.
pub fn fetch_and_render(
    url: &str,
    revision: &str,
    path: &str,
    credentials: Option<Credentials>,
    cache_dir: &Path,
) -> Result<Fetched, Error> {
    let (commit, dir, root) = checkout(url, revision, path, credentials, cache_dir)?;
    let (engine, manifests) = render_dir(&dir, &root)?;
    Ok(Fetched {
        revision: commit,
        engine,
        manifests,
    })
}

/// Resolves `revision` of `url` and checks its tree out under `cache_dir`: the commit, the directory `path`
/// inside the checkout, and the checkout's root.
pub fn checkout(
    url: &str,
    revision: &str,
    path: &str,
    credentials: Option<Credentials>,
    cache_dir: &Path,
) -> Result<(String, PathBuf, PathBuf), Error> {
    let source_err = |source| Error::Fetch {
        url: url.to_string(),
        source,
    };
    let repo = Repository::new(url, cache_dir)
        .map_err(source_err)?
        .with_credentials(credentials);
    let checkout = repo.checkout(&Revision::parse(revision)).map_err(source_err)?;
    let dir = checkout.path(path).map_err(source_err)?;
    Ok((checkout.commit.clone(), dir, checkout.root.clone()))
}

/// Kustomize when `dir` holds a kustomization file, plain manifests otherwise. Origins are relative to `root`.
pub fn render_dir(dir: &Path, root: &Path) -> Result<(&'static str, Vec<Manifest>), Error> {
    let relative = |p: &Path| -> PathBuf {
        p.strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.to_path_buf())
    };
    if !dir.is_dir() {
        return Err(Error::Render {
            message: format!(
                "{}: no such directory in the repository; set spec.source.path to the directory holding the manifests",
                relative(dir).display()
            ),
        });
    }
    if tack_kustomize::is_kustomization_dir(&tack_kustomize::DiskFs, dir) {
        // Remote bases go to the same Git cache as the checkout (`<cache>/trees/<sha>` is the root).
        let cache = root
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "trees"))
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| std::env::temp_dir().join("tack-git"));
        let opts = tack_render::GitRemoteBases::new(cache).options();
        let out = tack_kustomize::build(&tack_kustomize::DiskFs, dir, &opts).map_err(|e| Error::Render {
            message: format!("kustomize build of {}: {e}", display_dir(&relative(dir))),
        })?;
        let file = tack_kustomize::KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join("kustomization.yaml"));
        let file = relative(&file);
        let manifests = out
            .objects
            .into_iter()
            .map(|object| Manifest {
                object,
                origin: Origin::new(file.clone(), 0),
            })
            .collect();
        return Ok(("kustomize", manifests));
    }
    let opts = RenderOptions {
        display_root: Some(root.to_path_buf()),
    };
    let manifests = PlainRenderer.render(dir, &opts).map_err(|e| Error::Render {
        message: e.to_string(),
    })?;
    Ok((PlainRenderer::NAME, manifests))
}

fn display_dir(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".to_string()
    } else {
        p.display().to_string()
    }
}
