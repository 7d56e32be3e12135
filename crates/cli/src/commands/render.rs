//! `tack render`: print the manifests of a directory or Git source; also the source loading shared by
//! `tack diff` and `tack sync`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use tack_render::{Manifest, RenderOptions};

use crate::args::{HelmArgs, RenderArgs, SourceArgs};
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
    Ok(Rendered {
        manifests: out.manifests,
        yaml: out.yaml,
        engine: out.engine,
        revision: None,
        warnings: out.warnings,
        timings: out.timings,
    })
}

/// Renders the source named by the command line: a local directory, or `--repo` (+ `--revision`, `--path`).
pub async fn load(source: &SourceArgs, namespace: Option<&str>) -> anyhow::Result<Rendered> {
    let helm = helm_options(&source.helm, namespace);
    let jsonnet = super::jsonnet::source_options(&source.jsonnet)?;
    match (&source.dir, &source.repo) {
        (Some(dir), None) => {
            // On this thread rather than a blocking-pool thread: glibc's malloc grows the heaps of other
            // threads page by page, which made large builds markedly slower.
            tokio::task::block_in_place(|| render_dir(dir, None, helm, jsonnet))
        }
        (None, Some(url)) => {
            let url = url.clone();
            let revision = source.revision.clone().unwrap_or_default();
            let path = source.path.clone().unwrap_or_default();
            tokio::task::spawn_blocking(move || render_git(&url, &revision, &path, helm, jsonnet)).await?
        }
        _ => bail!("give either a directory (PATH) or --repo URL"),
    }
}

fn render_git(
    url: &str,
    revision: &str,
    path: &str,
    helm: tack_helm::Options,
    jsonnet: Option<tack_jsonnet::JsonnetOptions>,
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
    let mut rendered = render_dir(&dir, Some(&checkout.root), helm, jsonnet)?;
    rendered.revision = Some(checkout.commit.clone());
    Ok(rendered)
}

pub async fn run(args: &RenderArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let rendered = load(&args.source, settings.namespace.as_deref()).await?;
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
