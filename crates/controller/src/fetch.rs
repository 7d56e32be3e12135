//! Fetch and render: the blocking half of a reconcile, run under `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};

use tack_render::{Manifest, RenderOptions};
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

/// How an application's source is rendered: the renderer options its spec asks for. Built before the fetch
/// ([`SourceRender::of`]), so that a spec tack cannot honour is refused as invalid instead of being ignored.
#[derive(Clone, Debug, Default)]
pub struct SourceRender {
    helm: tack_helm::Options,
    helm_inline_values: Vec<(String, String)>,
    helm_ignore_missing_value_files: bool,
}

impl SourceRender {
    /// The options of application `name` deploying into `namespace`.
    pub fn of(name: &str, namespace: &str, source: &tack_model::Source) -> Result<SourceRender, Error> {
        if let Some(k) = &source.kustomize
            && *k != tack_model::KustomizeOptions::default()
        {
            return Err(Error::InvalidSpec(
                "spec.source.kustomize is not supported yet: put these settings (namePrefix, images, labels, ...) \
                 in the kustomization.yaml in Git, or remove the field"
                    .into(),
            ));
        }
        if source.jsonnet.is_some() {
            return Err(Error::InvalidSpec(
                "spec.source.jsonnet is not supported yet: remove the field".into(),
            ));
        }
        let mut out = SourceRender {
            helm: tack_helm::Options {
                release_name: name.to_string(),
                namespace: namespace.to_string(),
                ..Default::default()
            },
            ..Default::default()
        };
        let Some(h) = &source.helm else {
            return Ok(out);
        };
        if h.chart.is_some() {
            return Err(Error::InvalidSpec(
                "spec.source.helm.chart: charts from chart repositories and OCI registries are not supported \
                 yet; keep the chart in the Git repository (spec.source.path)"
                    .into(),
            ));
        }
        if let Some(release) = &h.release_name {
            out.helm.release_name = release.clone();
        }
        out.helm.value_files = h.value_files.clone();
        out.helm_ignore_missing_value_files = h.ignore_missing_value_files;
        if let Some(values) = &h.values {
            out.helm_inline_values
                .push(("spec.source.helm.values".into(), values.clone()));
        }
        if let Some(values) = &h.values_object {
            out.helm_inline_values
                .push(("spec.source.helm.valuesObject".into(), values.to_string()));
        }
        for p in &h.parameters {
            let set = format!("{}={}", p.name, p.value);
            if p.force_string {
                out.helm.set_string.push(set);
            } else {
                out.helm.set.push(set);
            }
        }
        out.helm.kube_version = h.kube_version.clone();
        out.helm.api_versions = h.api_versions.clone();
        out.helm.include_crds = !h.skip_crds;
        out.helm.skip_tests = h.skip_tests;
        out.helm.no_hooks = h.skip_hooks;
        Ok(out)
    }
}

/// Renders `dir` with the renderer `tack_render` picks and Helm's defaults (see [`render_source`]).
pub fn render_dir(dir: &Path, root: &Path) -> Result<(&'static str, Vec<Manifest>), Error> {
    render_source(dir, root, &SourceRender::default())
}

/// Renders `dir` with the renderer `tack_render` picks, confined to the checkout `root`; origins are relative
/// to `root`. Remote bases are fetched into the same source cache as the checkout (`<cache>/trees/<sha>` is
/// the root). Hooks are refused: tack does not run sync phases yet.
pub fn render_source(
    dir: &Path,
    root: &Path,
    how: &SourceRender,
) -> Result<(&'static str, Vec<Manifest>), Error> {
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
    let cache = root
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "trees"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(tack_source::default_cache_dir);
    let opts = RenderOptions {
        display_root: Some(root.to_path_buf()),
        confine_to: Some(root.to_path_buf()),
        cache_dir: Some(cache),
        helm: Some(how.helm.clone()),
        helm_inline_values: how.helm_inline_values.clone(),
        helm_ignore_missing_value_files: how.helm_ignore_missing_value_files,
        ..Default::default()
    };
    let out = tack_render::render(dir, &opts).map_err(|e| Error::Render {
        message: e.to_string(),
    })?;
    Ok((out.engine, out.manifests))
}
