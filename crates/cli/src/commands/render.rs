//! `tack render`: print the manifests of a directory or Git source; also the source loading shared by
//! `tack diff` and `tack sync`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use tack_render::{Manifest, Origin, PlainRenderer, RenderOptions, Renderer};

use crate::args::{RenderArgs, SourceArgs};
use crate::config::{Output, Settings};

/// Manifests rendered from a source.
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// The output of `tack render`: for Kustomize exactly what `kubectl kustomize` prints.
    pub yaml: String,
    /// `plain` or `kustomize`.
    pub engine: &'static str,
    /// The commit, for Git sources.
    pub revision: Option<String>,
    /// Kustomize deprecation warnings.
    pub warnings: Vec<String>,
}

/// Renders a directory: Kustomize when it holds a kustomization file, plain manifests otherwise.
pub fn render_dir(dir: &Path, display_root: Option<&Path>) -> anyhow::Result<Rendered> {
    if !dir.is_dir() {
        bail!(
            "{}: no such directory; give the directory holding the manifests",
            dir.display()
        );
    }
    if tack_kustomize::is_kustomization_dir(&tack_kustomize::DiskFs, dir) {
        let mut opts = tack_render::GitRemoteBases::new(git_cache()).options();
        // TACK_KUSTOMIZE_TIMING=1 prints where the build spent its time (stderr).
        opts.timings = std::env::var_os("TACK_KUSTOMIZE_TIMING").is_some();
        let out = tack_kustomize::build(&tack_kustomize::DiskFs, dir, &opts)
            .with_context(|| format!("kustomize build of {} failed", dir.display()))?;
        for (phase, took, count) in &out.timings {
            eprintln!("kustomize timing: {phase}: {took:.3?} ({count}×)");
        }
        let file = tack_kustomize::KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join("kustomization.yaml"));
        let file = match display_root {
            Some(root) => file.strip_prefix(root).map(Path::to_path_buf).unwrap_or(file),
            None => file,
        };
        let yaml = out.to_yaml();
        let manifests = out
            .objects
            .into_iter()
            .map(|object| Manifest {
                object,
                origin: Origin::new(file.clone(), 0),
            })
            .collect();
        return Ok(Rendered {
            manifests,
            yaml,
            engine: "kustomize",
            revision: None,
            warnings: out.warnings,
        });
    }
    let opts = RenderOptions {
        display_root: display_root.map(Path::to_path_buf),
    };
    let manifests = PlainRenderer
        .render(dir, &opts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let yaml = tack_yaml::to_yaml_stream(manifests.iter().map(|m| &m.object));
    Ok(Rendered {
        manifests,
        yaml,
        engine: PlainRenderer::NAME,
        revision: None,
        warnings: Vec::new(),
    })
}

/// Renders the source named by the command line: a local directory, or `--repo` (+ `--revision`, `--path`).
pub async fn load(source: &SourceArgs) -> anyhow::Result<Rendered> {
    match (&source.dir, &source.repo) {
        (Some(dir), None) => {
            // On this thread rather than a blocking-pool thread: glibc's malloc grows the heaps of other
            // threads page by page, which made large builds markedly slower.
            tokio::task::block_in_place(|| render_dir(dir, None))
        }
        (None, Some(url)) => {
            let url = url.clone();
            let revision = source.revision.clone().unwrap_or_default();
            let path = source.path.clone().unwrap_or_default();
            tokio::task::spawn_blocking(move || render_git(&url, &revision, &path)).await?
        }
        _ => bail!("give either a directory (PATH) or --repo URL"),
    }
}

fn git_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tack")
        .join("git")
}

fn render_git(url: &str, revision: &str, path: &str) -> anyhow::Result<Rendered> {
    let repo = tack_source::Repository::new(url, git_cache()).with_context(|| format!("repository {url}"))?;
    let checkout = repo
        .checkout(&tack_source::Revision::parse(revision))
        .with_context(|| {
            format!(
                "cannot check out {url} at `{}`",
                if revision.is_empty() { "HEAD" } else { revision }
            )
        })?;
    let dir = checkout.path(path)?;
    let mut rendered = render_dir(&dir, Some(&checkout.root))?;
    rendered.revision = Some(checkout.commit.clone());
    Ok(rendered)
}

pub async fn run(args: &RenderArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let rendered = load(&args.source).await?;
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
