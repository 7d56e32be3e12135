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
    /// `spec.source.helm.chart`: the chart comes from a chart repository or OCI registry, values from Git.
    chart: Option<tack_source::chart::ChartRef>,
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
        if let Some(c) = &h.chart {
            out.chart = Some(chart_ref(c)?);
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

/// The chart of `spec.source.helm.chart`, checked before anything is fetched.
fn chart_ref(c: &tack_model::HelmChartRef) -> Result<tack_source::chart::ChartRef, Error> {
    let invalid = |m: String| Err(Error::InvalidSpec(format!("spec.source.helm.chart: {m}")));
    let url = c.repo_url.trim();
    if !(url.starts_with("oci://") || url.starts_with("https://") || url.starts_with("http://")) {
        return invalid(format!(
            "repoURL {url:?} is neither a chart repository (https://…, the folder of index.yaml) nor an OCI \
             registry path (oci://host/path)"
        ));
    }
    if c.name.is_empty() || c.name.contains('/') || c.name.contains(':') || c.name.contains('@') {
        return invalid(format!(
            "name {:?} must be the chart's name alone (its repository goes in repoURL, its version in version)",
            c.name
        ));
    }
    Ok(tack_source::chart::ChartRef::from_repo(
        url,
        &c.name,
        c.version.as_deref().unwrap_or(""),
    ))
}

/// Renders `dir` with the renderer `tack_render` picks and Helm's defaults (see [`render_source`]).
pub fn render_dir(dir: &Path, root: &Path) -> Result<(&'static str, Vec<Manifest>), Error> {
    render_source(dir, root, &SourceRender::default())
}

/// Renders `dir` with the renderer `tack_render` picks, confined to the checkout `root`; origins are relative
/// to `root`. Remote bases are fetched into the same source cache as the checkout (`<cache>/trees/<sha>` is
/// the root). With `spec.source.helm.chart`, the chart is fetched into that cache (`<cache>/charts/sha256/`,
/// anonymously) and rendered from its archive, with the values files relative to `dir` and confined to the
/// checkout. Hooks are refused: tack does not run sync phases yet.
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
        cache_dir: Some(cache.clone()),
        helm: Some(how.helm.clone()),
        helm_inline_values: how.helm_inline_values.clone(),
        helm_ignore_missing_value_files: how.helm_ignore_missing_value_files,
        ..Default::default()
    };
    let rendered = match &how.chart {
        Some(chart) => {
            let fetched = tack_source::chart::ChartFetcher::new(&cache)
                .fetch(chart)
                .map_err(|source| Error::ChartFetch {
                    chart: shown_chart(chart),
                    source,
                })?;
            tack_render::render_chart_archive(&fetched.path, dir, &opts)
        }
        None => tack_render::render(dir, &opts),
    };
    let out = rendered
        .and_then(|out| tack_render::refuse_hooks(&out.manifests).map(|()| out))
        .map_err(|e| Error::Render {
            message: e.to_string(),
        })?;
    Ok((out.engine, out.manifests))
}

/// A chart reference as errors show it.
fn shown_chart(chart: &tack_source::chart::ChartRef) -> String {
    use tack_source::chart::ChartRef;
    let version = |v: &str| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" {v}")
        }
    };
    match chart {
        ChartRef::Repository {
            url,
            name,
            version: v,
        } => format!("{name}{} from {url}", version(v)),
        ChartRef::Oci {
            reference,
            version: v,
        } => format!("{reference}{}", version(v)),
        ChartRef::Url { url, .. } => url.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tack_model::{HelmChartRef, HelmOptions, Source};
    use tack_source::chart::ChartRef;

    use super::*;

    fn with_chart(repo_url: &str, name: &str, version: Option<&str>) -> Result<SourceRender, Error> {
        let source = Source {
            repo_url: "https://git.example.com/config.git".into(),
            helm: Some(HelmOptions {
                chart: Some(HelmChartRef {
                    repo_url: repo_url.into(),
                    name: name.into(),
                    version: version.map(str::to_string),
                }),
                value_files: vec!["values-qa.yaml".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        SourceRender::of("web-qa", "qa", &source)
    }

    #[test]
    fn a_chart_from_a_repository_or_registry_is_accepted() {
        let how = with_chart("https://charts.example.com/stable", "web", Some("^1.2")).unwrap();
        assert_eq!(
            how.chart,
            Some(ChartRef::Repository {
                url: "https://charts.example.com/stable".into(),
                name: "web".into(),
                version: "^1.2".into(),
            })
        );
        assert_eq!(how.helm.value_files, ["values-qa.yaml"]);
        assert_eq!(how.helm.release_name, "web-qa");
        let how = with_chart("oci://registry.example.com/charts/", "web", None).unwrap();
        assert_eq!(
            how.chart,
            Some(ChartRef::Oci {
                reference: "oci://registry.example.com/charts/web".into(),
                version: String::new(),
            })
        );
    }

    #[test]
    fn a_chart_reference_tack_cannot_use_is_an_invalid_spec() {
        for (url, name, what) in [
            ("git@github.com:acme/charts.git", "web", "repoURL"),
            ("https://charts.example.com", "", "name"),
            ("https://charts.example.com", "stable/web", "name"),
            ("oci://registry.example.com/charts", "web:1.0.0", "name"),
        ] {
            match with_chart(url, name, None) {
                Err(Error::InvalidSpec(m)) => {
                    assert!(
                        m.starts_with("spec.source.helm.chart: ") && m.contains(what),
                        "{m}"
                    )
                }
                other => panic!("{url} {name}: {other:?}"),
            }
        }
    }
}
