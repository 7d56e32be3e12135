//! `tack render`: print the manifests of a directory, a Git source or a Helm chart from a chart repository or
//! OCI registry; also the source loading shared by `tack diff` and `tack sync`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{Context, bail};
use tack_render::{Manifest, RenderOptions};
use tack_sops::Identities;

use crate::args::{ChartArgs, HelmArgs, RenderArgs, SourceArgs};
use crate::config::{Output, Settings};

/// Manifests rendered from a source.
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// The output of `tack render`: for Kustomize exactly what `kubectl kustomize` prints.
    pub yaml: String,
    /// The renderer that rendered it (`plain`, `kustomize`, ...).
    pub engine: &'static str,
    /// The commit, for Git sources.
    pub revision: Option<String>,
    /// Warnings from the renderer (Kustomize deprecations).
    pub warnings: Vec<String>,
    /// Per-phase build timings (TACK_KUSTOMIZE_TIMING=1).
    pub timings: Vec<String>,
}

impl From<tack_render::Rendered> for Rendered {
    /// A local render (no commit).
    fn from(out: tack_render::Rendered) -> Self {
        Rendered {
            manifests: out.manifests,
            yaml: out.yaml,
            engine: out.engine,
            revision: None,
            warnings: out.warnings,
            timings: out.timings,
        }
    }
}

/// `helm template`'s options from the command line; `namespace` is `.Release.Namespace` (`-n`, else
/// `default`).
pub fn helm_options(args: &HelmArgs, namespace: Option<&str>) -> tack_helm::Options {
    let defaults = tack_helm::Options::default();
    tack_helm::Options {
        release_name: args.release_name.clone().unwrap_or(defaults.release_name.clone()),
        namespace: namespace
            .map(str::to_string)
            .unwrap_or(defaults.namespace.clone()),
        value_files: args.values.clone(),
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        set_file: args.set_file.clone(),
        set_json: args.set_json.clone(),
        set_literal: args.set_literal.clone(),
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        include_crds: args.include_crds,
        no_hooks: args.no_hooks,
        skip_tests: args.skip_tests,
        show_only: args.show_only.clone(),
        ..defaults
    }
}

/// Renders a directory (or chart archive) with the renderer `tack_render` picks for it. A directory inside a
/// Git checkout (`checkout` set) is confined to it; a directory on the user's own disk is read as kubectl
/// would.
pub fn render_dir(
    dir: &Path,
    checkout: Option<&Path>,
    helm: tack_helm::Options,
    jsonnet: Option<tack_jsonnet::JsonnetOptions>,
    decrypt: Option<Arc<Identities>>,
) -> anyhow::Result<Rendered> {
    let jsonnet_given = jsonnet.is_some();
    let opts = RenderOptions {
        helm: Some(helm),
        jsonnet,
        display_root: checkout.map(Path::to_path_buf),
        confine_to: checkout.map(Path::to_path_buf),
        cache_dir: Some(tack_source::default_cache_dir()),
        // TACK_KUSTOMIZE_TIMING=1 prints where a Kustomize build spent its time (stderr).
        timings: std::env::var_os("TACK_KUSTOMIZE_TIMING").is_some(),
        decrypt,
        ..Default::default()
    };
    let out = tack_render::render(dir, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    if jsonnet_given && out.engine != tack_render::JsonnetRenderer::NAME {
        bail!(
            "Jsonnet flags given, but {} is rendered as {} (it has no *.jsonnet file directly in it)",
            dir.display(),
            out.engine
        );
    }
    Ok(Rendered::from(out))
}

/// Renders the source named by the command line: a local directory, `--repo` (+ `--revision`, `--path`), or a
/// chart from a chart repository or OCI registry (`oci://…`, `https://…/chart.tgz`, `--repo URL --chart NAME`).
pub async fn load(source: &SourceArgs, namespace: Option<&str>) -> anyhow::Result<Rendered> {
    let helm = helm_options(&source.helm, namespace);
    let decrypt = decrypt_keys(&source.decrypt_key)?;
    if let Some(chart) = chart_ref(source)? {
        let args = source.chart.clone();
        return tokio::task::spawn_blocking(move || render_remote_chart(&chart, &args, helm, decrypt))
            .await?;
    }
    if source.chart.chart_version.is_some() || source.chart.devel {
        bail!(
            "--version and --devel choose the version of a chart from a chart repository or OCI registry \
             (oci://HOST/PATH/CHART, or --repo URL --chart NAME); a chart folder or archive has one version"
        );
    }
    let jsonnet = super::jsonnet::source_options(&source.jsonnet)?;
    match (&source.dir, &source.repo) {
        (Some(dir), None) => {
            let helm = values_from_the_working_directory(dir, helm);
            // On this thread rather than a blocking-pool thread: large builds measured markedly slower on a
            // pool thread (with glibc's allocator, which grew the heaps of other threads page by page).
            tokio::task::block_in_place(|| render_dir(dir, None, helm, jsonnet, decrypt))
        }
        (None, Some(url)) => {
            let url = url.clone();
            let revision = source.revision.clone().unwrap_or_default();
            let path = source.path.clone().unwrap_or_default();
            tokio::task::spawn_blocking(move || render_git(&url, &revision, &path, helm, jsonnet, decrypt))
                .await?
        }
        _ => bail!("give either a directory (PATH) or --repo URL"),
    }
}

/// The age identities of `--decrypt-key` files, `None` without the flag. Errors name the file, never a key.
pub fn decrypt_keys(files: &[std::path::PathBuf]) -> anyhow::Result<Option<Arc<Identities>>> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut ids = Identities::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("--decrypt-key {}", file.display()))?;
        ids.add(&text, &file.display().to_string())
            .map_err(|e| anyhow::anyhow!("--decrypt-key: {e}"))?;
    }
    if ids.is_empty() {
        bail!("--decrypt-key: the files hold no age identity (AGE-SECRET-KEY-1… lines)");
    }
    Ok(Some(Arc::new(ids)))
}

/// For a chart on the user's own disk, a relative `-f` file that is not in the chart folder but is in the
/// current directory is taken from there, as `helm template` takes it (`tack render ./chart -f
/// ./chart/values-prod.yaml` works as with helm); a file in the chart folder wins, as in Argo CD's
/// `valueFiles`.
fn values_from_the_working_directory(dir: &Path, mut helm: tack_helm::Options) -> tack_helm::Options {
    let chart_dir = if dir.is_dir() {
        dir
    } else {
        dir.parent().unwrap_or(dir)
    };
    for file in helm.value_files.iter_mut() {
        let p = Path::new(file.as_str());
        if p.is_relative()
            && !chart_dir.join(p).exists()
            && p.is_file()
            && let Ok(absolute) = std::path::absolute(p)
        {
            *file = absolute.to_string_lossy().into_owned();
        }
    }
    helm
}

/// The chart the command line names in a chart repository, an OCI registry or at a URL; `None` for a local
/// path or a Git repository.
pub fn chart_ref(source: &SourceArgs) -> anyhow::Result<Option<tack_source::chart::ChartRef>> {
    use tack_source::chart::ChartRef;
    let version = source.chart.chart_version.clone().unwrap_or_default();
    if let (Some(repo), Some(name)) = (&source.repo, &source.chart.chart) {
        if name.is_empty() || name.contains('/') {
            bail!("--chart {name:?}: give the chart's name alone; its repository goes in --repo");
        }
        if !(repo.starts_with("oci://") || repo.starts_with("https://") || repo.starts_with("http://")) {
            bail!(
                "--repo {repo}: a chart repository is an https:// (or http://) URL, a registry an oci:// path"
            );
        }
        return Ok(Some(ChartRef::from_repo(repo, name, &version)));
    }
    let Some(text) = source.dir.as_deref().and_then(Path::to_str) else {
        return Ok(None);
    };
    if text.starts_with("oci://") {
        return Ok(Some(ChartRef::Oci {
            reference: text.to_string(),
            version,
        }));
    }
    if text.starts_with("https://") || text.starts_with("http://") {
        if !version.is_empty() {
            bail!("--version does not apply to a chart archive URL ({text}): the URL names one version");
        }
        return Ok(Some(ChartRef::Url {
            url: text.to_string(),
            digest: None,
        }));
    }
    Ok(None)
}

/// The fetcher the chart flags describe: tack's source cache, credentials, `--plain-http`, `--devel`.
pub fn chart_fetcher(args: &ChartArgs) -> tack_source::chart::ChartFetcher {
    use tack_source::chart::{ChartAuth, ChartFetcher};
    let auth = match (&args.username, &args.password) {
        (Some(user), Some(password)) => Some(ChartAuth::basic(user.clone(), password.clone())),
        (None, Some(token)) => Some(ChartAuth::bearer(token.clone())),
        _ => None,
    };
    ChartFetcher::new(tack_source::default_cache_dir())
        .with_auth(auth)
        .plain_http(args.plain_http)
        .allow_insecure_http_credentials(args.plain_http)
        .devel(args.devel)
}

/// What to do about a failed chart fetch, in terms of the command line's flags.
fn fetch_hint(e: &tack_source::chart::ChartError, args: &ChartArgs) -> &'static str {
    use tack_source::chart::ChartError;
    match e {
        ChartError::Unauthorized { .. } if args.password.is_none() => {
            "; give credentials with --username and --password (or TACK_HELM_USERNAME and TACK_HELM_PASSWORD), \
             or --password alone for a token"
        }
        ChartError::Unauthorized { .. } => {
            "; the credentials of --username/--password (TACK_HELM_USERNAME/TACK_HELM_PASSWORD) were refused"
        }
        ChartError::InsecureCredentials { .. } => {
            "; pass --plain-http to send the credentials of --username/--password over plain HTTP anyway"
        }
        _ => "",
    }
}

/// Fetches a chart into the cache (by digest) and renders it; values files are relative to the current
/// directory, as with `helm template`.
fn render_remote_chart(
    chart: &tack_source::chart::ChartRef,
    args: &ChartArgs,
    helm: tack_helm::Options,
    decrypt: Option<Arc<Identities>>,
) -> anyhow::Result<Rendered> {
    let fetched = chart_fetcher(args)
        .fetch(chart)
        .map_err(|e| anyhow::anyhow!("{e}{}", fetch_hint(&e, args)))?;
    let cwd = std::env::current_dir().context("the current directory")?;
    let opts = RenderOptions {
        helm: Some(helm),
        cache_dir: Some(tack_source::default_cache_dir()),
        decrypt,
        ..Default::default()
    };
    let out =
        tack_render::render_chart_archive(&fetched.path, &cwd, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Rendered::from(out))
}

fn render_git(
    url: &str,
    revision: &str,
    path: &str,
    helm: tack_helm::Options,
    jsonnet: Option<tack_jsonnet::JsonnetOptions>,
    decrypt: Option<Arc<Identities>>,
) -> anyhow::Result<Rendered> {
    let repo = tack_source::Repository::new(url, tack_source::default_cache_dir())
        .with_context(|| format!("repository {url}"))?;
    let checkout = repo
        .checkout(&tack_source::Revision::parse(revision))
        .with_context(|| {
            format!(
                "cannot check out {url} at `{}`",
                if revision.is_empty() { "HEAD" } else { revision }
            )
        })?;
    let dir = checkout.path(path)?;
    let mut rendered = render_dir(&dir, Some(&checkout.root), helm, jsonnet, decrypt)?;
    rendered.revision = Some(checkout.commit.clone());
    Ok(rendered)
}

pub async fn run(args: &RenderArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let mut rendered = load(&args.source, settings.namespace.as_deref()).await?;
    if !args.source.decrypt_key.is_empty() && !args.show_secrets {
        mask_secrets(&mut rendered);
    }
    for t in &rendered.timings {
        eprintln!("{t}");
    }
    for w in &rendered.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    match settings.output {
        Output::Json => {
            let objects: Vec<&serde_json::Value> = rendered.manifests.iter().map(|m| &m.object).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&objects)?)?;
        }
        _ => out.write_all(rendered.yaml.as_bytes())?,
    }
    out.flush()?;
    // The process ends right after printing: freeing every rendered object would only cost time.
    std::mem::forget(rendered);
    Ok(ExitCode::SUCCESS)
}

/// Masks the values of every Secret's `data` and `stringData` as `tack diff` does (what decryption produced
/// is shown only with `--show-secrets`); the text output is printed again from the masked objects.
fn mask_secrets(rendered: &mut Rendered) {
    let mut masked = false;
    for m in &mut rendered.manifests {
        let is_secret = m.object["kind"] == "Secret" && m.object["apiVersion"] == "v1";
        if is_secret {
            tack_plan::mask_secret_pair(Some(&mut m.object), None);
            masked = true;
        }
    }
    if masked {
        rendered.yaml = tack_yaml::to_yaml_stream(rendered.manifests.iter().map(|m| &m.object));
    }
}
