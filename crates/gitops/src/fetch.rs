//! Fetch and render: the blocking half of a reconcile, run under `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};

use tack_render::{Manifest, PackedManifest, RenderOptions};
use tack_source::{Credentials, Repository, Revision};

use crate::Error;

/// What a source rendered to at one commit.
#[derive(Debug)]
pub struct Fetched {
    /// The full commit SHA.
    pub revision: String,
    /// The renderer's name (`plain`, `kustomize`, `helm`, `jsonnet`).
    pub engine: &'static str,
    /// The rendered objects, each with the file (and line) it came from.
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
    /// The chart repository's or registry's credentials (`spec.source.helm.chart.credentialsSecret`, read
    /// by the caller: [`SourceRender::with_chart_auth`]).
    chart_auth: Option<tack_source::chart::ChartAuth>,
    /// `spec.source.helm.chart.plainHTTP`.
    chart_plain_http: bool,
    helm: tack_helm::Options,
    helm_inline_values: Vec<(String, String)>,
    helm_ignore_missing_value_files: bool,
    jsonnet: Option<tack_jsonnet::JsonnetOptions>,
    /// Which Kustomize remote bases may be fetched (the lockdown flags, TenantPolicies).
    remote_bases: tack_render::RemoteBaseCheck,
    /// `spec.decryption`'s age identities ([`SourceRender::with_decryption`]).
    decrypt: Option<std::sync::Arc<tack_sops::Identities>>,
}

impl SourceRender {
    /// The same options, decrypting SOPS-encrypted files with these identities.
    pub fn with_decryption(mut self, ids: Option<std::sync::Arc<tack_sops::Identities>>) -> SourceRender {
        self.decrypt = ids;
        self
    }

    /// The same options, fetching only the remote bases `check` allows.
    pub fn with_remote_bases(mut self, check: tack_render::RemoteBaseCheck) -> SourceRender {
        self.remote_bases = check;
        self
    }

    /// The same options, fetching the chart with these credentials.
    pub fn with_chart_auth(mut self, auth: Option<tack_source::chart::ChartAuth>) -> SourceRender {
        self.chart_auth = auth;
        self
    }

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
        let mut out = SourceRender {
            helm: tack_helm::Options {
                release_name: name.to_string(),
                namespace: namespace.to_string(),
                ..Default::default()
            },
            jsonnet: source.jsonnet.as_ref().map(jsonnet_options).transpose()?,
            ..Default::default()
        };
        let Some(h) = &source.helm else {
            return Ok(out);
        };
        if let Some(c) = &h.chart {
            out.chart = Some(chart_ref(c)?);
            out.chart_plain_http = c.plain_http;
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

/// `spec.source.jsonnet` as the Jsonnet renderer's options; values tack cannot honour are an invalid spec.
fn jsonnet_options(j: &tack_model::JsonnetOptions) -> Result<tack_jsonnet::JsonnetOptions, Error> {
    let invalid =
        |field: &str, message: String| Error::InvalidSpec(format!("spec.source.jsonnet.{field}: {message}"));
    let vars = |field: &str, list: &[tack_model::JsonnetVar]| {
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            if v.name.is_empty() {
                return Err(invalid(&format!("{field}[{i}].name"), "must not be empty".into()));
            }
            if out.iter().any(|(n, _): &(String, _)| *n == v.name) {
                return Err(invalid(
                    &format!("{field}[{i}].name"),
                    format!("`{}` is given twice", v.name),
                ));
            }
            let value = if v.code {
                tack_jsonnet::VarValue::Code(v.value.clone())
            } else {
                tack_jsonnet::VarValue::Str(v.value.clone())
            };
            out.push((v.name.clone(), value));
        }
        Ok(out)
    };
    let mut libs = Vec::with_capacity(j.libs.len());
    for (i, lib) in j.libs.iter().enumerate() {
        let path = Path::new(lib);
        let escapes = tack_render::confine::normalize(&Path::new("/r").join(path))
            .strip_prefix("/r")
            .is_err();
        if lib.is_empty() || path.is_absolute() || escapes {
            return Err(invalid(
                &format!("libs[{i}]"),
                format!(
                    "`{lib}` must be a directory of the repository, relative to its root (no `..` out of it)"
                ),
            ));
        }
        libs.push(PathBuf::from(lib));
    }
    let glob = |field: &str, g: &Option<String>| -> Result<Option<String>, Error> {
        if let Some(g) = g {
            tack_jsonnet::check_glob(g).map_err(|e| invalid(field, e.to_string()))?;
        }
        Ok(g.clone())
    };
    let extract = match j.extract.as_deref() {
        None | Some("topLevel") => tack_jsonnet::Extract::TopLevel,
        Some("nested") => tack_jsonnet::Extract::Nested,
        Some(other) => {
            return Err(invalid(
                "extract",
                format!("`{other}` is not one of `topLevel` (Argo CD) and `nested` (Tanka)"),
            ));
        }
    };
    Ok(tack_jsonnet::JsonnetOptions {
        ext_vars: vars("extVars", &j.ext_vars)?,
        tlas: vars("tlas", &j.tlas)?,
        libs,
        recurse: j.recurse,
        include: glob("include", &j.include)?,
        exclude: glob("exclude", &j.exclude)?,
        extract,
        timeout: None,
    })
}

/// Renders `dir` with the renderer `tack_render` picks and Helm's defaults (see [`render_source`]).
pub fn render_dir(dir: &Path, root: &Path) -> Result<(&'static str, Vec<Manifest>), Error> {
    render_source(dir, root, &SourceRender::default())
}

/// Renders `dir` with the renderer `tack_render` picks, confined to the checkout `root`; origins are relative
/// to `root`. Remote bases are fetched into the same source cache as the checkout (`<cache>/trees/<sha>` is
/// the root). With `spec.source.helm.chart`, the chart is fetched into that cache (`<cache>/charts/sha256/`,
/// with the credentials of [`SourceRender::with_chart_auth`] if any) and rendered from its archive, with the values files relative to `dir` and confined to the
/// checkout. Hooks are rendered with the other objects; the sync runs them in their phases.
pub fn render_source(
    dir: &Path,
    root: &Path,
    how: &SourceRender,
) -> Result<(&'static str, Vec<Manifest>), Error> {
    let (engine, packed) = render_source_packed(dir, root, how)?;
    Ok((engine, packed.iter().map(PackedManifest::unpack).collect()))
}

/// [`render_source`] with the objects kept compact ([`tack_render::render_packed`]): what the controller holds
/// of a large application while it syncs or compares it.
pub fn render_source_packed(
    dir: &Path,
    root: &Path,
    how: &SourceRender,
) -> Result<(&'static str, Vec<PackedManifest>), Error> {
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
        remote_bases: how.remote_bases.clone(),
        helm: Some(how.helm.clone()),
        helm_inline_values: how.helm_inline_values.clone(),
        helm_ignore_missing_value_files: how.helm_ignore_missing_value_files,
        jsonnet: how.jsonnet.clone(),
        decrypt: how.decrypt.clone(),
        ..Default::default()
    };
    let rendered = match &how.chart {
        Some(chart) => {
            let fetched = tack_source::chart::ChartFetcher::new(&cache)
                .with_auth(how.chart_auth.clone())
                .plain_http(how.chart_plain_http)
                .allow_insecure_http_credentials(how.chart_plain_http)
                .fetch(chart)
                .map_err(|source| Error::ChartFetch {
                    chart: shown_chart(chart),
                    hint: chart_fetch_hint(&source, how.chart_auth.is_some()),
                    source: Box::new(source),
                })?;
            tack_render::render_chart_archive(&fetched.path, dir, &opts)
                .map(|r| (r.engine, tack_render::pack_all(r.manifests)))
        }
        None => tack_render::render_packed(dir, &opts),
    };
    let (engine, manifests) = rendered.map_err(|e| Error::Render {
        message: e.to_string(),
    })?;
    if how.jsonnet.is_some() && engine != tack_render::JsonnetRenderer::NAME {
        return Err(Error::Render {
            message: format!(
                "spec.source.jsonnet is set but {} is rendered as {} (no *.jsonnet file directly in it); remove \
                 spec.source.jsonnet or point spec.source.path at the Jsonnet files",
                shown(&relative(dir)),
                engine
            ),
        });
    }
    Ok((engine, manifests))
}

/// What to change in `spec.source.helm.chart` after a failed fetch, when the failure says it.
fn chart_fetch_hint(e: &tack_source::chart::ChartError, has_credentials: bool) -> &'static str {
    use tack_source::chart::ChartError;
    match e {
        ChartError::Unauthorized { .. } if !has_credentials => {
            "; name a Secret with the keys username + password (or bearerToken) in \
             spec.source.helm.chart.credentialsSecret"
        }
        ChartError::Unauthorized { .. } => "; check the Secret of spec.source.helm.chart.credentialsSecret",
        ChartError::InsecureCredentials { .. } => {
            "; use https://, or set spec.source.helm.chart.plainHTTP: true to allow it"
        }
        _ => "",
    }
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

fn shown(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tack_model::{HelmChartRef, HelmOptions, JsonnetOptions, JsonnetVar, Source};
    use tack_source::chart::ChartRef;

    fn of(j: JsonnetOptions) -> Result<SourceRender, Error> {
        SourceRender::of(
            "app",
            "ns",
            &Source {
                jsonnet: Some(j),
                ..Default::default()
            },
        )
    }

    fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
        JsonnetVar {
            name: name.into(),
            value: value.into(),
            code,
        }
    }

    #[test]
    fn jsonnet_options_are_mapped() {
        let how = of(JsonnetOptions {
            ext_vars: vec![var("region", "eu", false)],
            tlas: vec![var("env", "qa", false), var("replicas", "2", true)],
            libs: vec!["vendor".into(), "lib/../lib".into()],
            recurse: true,
            include: Some("{a,b}/*.jsonnet".into()),
            exclude: Some("*_test.jsonnet".into()),
            extract: Some("nested".into()),
        })
        .unwrap();
        let j = how.jsonnet.unwrap();
        assert_eq!(
            j.ext_vars,
            [("region".into(), tack_jsonnet::VarValue::Str("eu".into()))]
        );
        assert_eq!(
            j.tlas,
            [
                ("env".into(), tack_jsonnet::VarValue::Str("qa".into())),
                ("replicas".into(), tack_jsonnet::VarValue::Code("2".into()))
            ]
        );
        assert_eq!(j.libs, [PathBuf::from("vendor"), PathBuf::from("lib/../lib")]);
        assert!(j.recurse);
        assert_eq!(j.extract, tack_jsonnet::Extract::Nested);
        assert_eq!(j.include.as_deref(), Some("{a,b}/*.jsonnet"));
    }

    #[test]
    fn invalid_jsonnet_options_are_an_invalid_spec() {
        let cases = [
            (
                JsonnetOptions {
                    extract: Some("deep".into()),
                    ..Default::default()
                },
                "spec.source.jsonnet.extract: `deep` is not one of",
            ),
            (
                JsonnetOptions {
                    libs: vec!["../other".into()],
                    ..Default::default()
                },
                "spec.source.jsonnet.libs[0]: `../other` must be a directory of the repository",
            ),
            (
                JsonnetOptions {
                    libs: vec!["/etc".into()],
                    ..Default::default()
                },
                "spec.source.jsonnet.libs[0]",
            ),
            (
                JsonnetOptions {
                    include: Some("a/{b".into()),
                    ..Default::default()
                },
                "spec.source.jsonnet.include: invalid glob",
            ),
            (
                JsonnetOptions {
                    tlas: vec![var("env", "qa", false), var("env", "e2e", false)],
                    ..Default::default()
                },
                "spec.source.jsonnet.tlas[1].name: `env` is given twice",
            ),
            (
                JsonnetOptions {
                    ext_vars: vec![var("", "x", false)],
                    ..Default::default()
                },
                "spec.source.jsonnet.extVars[0].name: must not be empty",
            ),
        ];
        for (options, expected) in cases {
            match of(options) {
                Err(Error::InvalidSpec(message)) => assert!(message.starts_with(expected), "{message}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn jsonnet_options_on_a_directory_without_jsonnet_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("app")).unwrap();
        std::fs::write(
            tmp.path().join("app/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )
        .unwrap();
        let how = of(JsonnetOptions::default()).unwrap();
        let err = render_source(&tmp.path().join("app"), tmp.path(), &how).unwrap_err();
        assert!(
            err.to_string()
                .contains("spec.source.jsonnet is set but app is rendered as plain"),
            "{err}"
        );
    }

    fn with_chart(repo_url: &str, name: &str, version: Option<&str>) -> Result<SourceRender, Error> {
        let source = Source {
            repo_url: "https://git.example.com/config.git".into(),
            helm: Some(HelmOptions {
                chart: Some(HelmChartRef {
                    repo_url: repo_url.into(),
                    name: name.into(),
                    version: version.map(str::to_string),
                    ..Default::default()
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
