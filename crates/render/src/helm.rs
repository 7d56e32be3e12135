//! The Helm renderer: a chart folder (holding `Chart.yaml`) or a chart archive (`.tgz`), rendered by
//! `tack-helm` exactly as `helm template` renders it.
//!
//! Values files named in the options are read relative to the chart folder (Argo CD's `valueFiles`); for a
//! Git source they, like every chart file, must lie inside the checkout. A chart fetched from a chart
//! repository or an OCI registry ([`render_chart_archive`]) is read from its archive alone, with values files
//! relative to a directory of the checkout.

use std::io;
use std::path::{Path, PathBuf};

use tack_helm::fs::EntryKind;
use tack_helm::{ChartFs, ChartSource, DocumentKind};
use tack_kustomize::FileSystem;

use crate::confine::{ConfinedFs, Roots};
use crate::{Manifest, Origin, RenderError, RenderOptions, Rendered, Renderer};

/// Renders Helm charts.
#[derive(Clone, Copy, Debug, Default)]
pub struct HelmRenderer;

impl HelmRenderer {
    /// The renderer's name, as [`Renderer::name`] returns it and errors and source types name it.
    pub const NAME: &'static str = "helm";
}

/// Whether `path` is a chart archive by its name.
pub fn is_chart_archive(path: &Path) -> bool {
    path.is_file()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".tgz") || n.ends_with(".tar.gz"))
}

impl Renderer for HelmRenderer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn detect(&self, path: &Path) -> bool {
        path.join("Chart.yaml").is_file() || is_chart_archive(path)
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        self.render_output(dir, opts).map(|r| r.manifests)
    }

    fn render_output(&self, path: &Path, opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let base = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let chart_dir = crate::display_path(&base, opts);
        render_chart(
            ChartSource::Path(path.to_path_buf()),
            &base,
            Some(&chart_dir),
            opts,
        )
    }
}

/// The largest chart archive [`render_chart_archive`] reads (helm's own limit on a chart's size).
pub const MAX_ARCHIVE_BYTES: u64 = 100 << 20;

/// Renders a chart archive fetched from a chart repository or an OCI registry (a `.tgz` in tack's chart
/// cache, outside any checkout). The chart's files are read from the archive alone, so they cannot reach
/// anything else; values files are relative to `values_dir` unless absolute and, with
/// [`RenderOptions::confine_to`], must lie inside that checkout. Origins read `CHART/templates/FILE`.
pub fn render_chart_archive(
    archive: &Path,
    values_dir: &Path,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let io_err = |source| RenderError::Io {
        path: archive.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(archive).map_err(io_err)?.len();
    if size > MAX_ARCHIVE_BYTES {
        return Err(io_err(io::Error::other(format!(
            "the chart archive is larger than {MAX_ARCHIVE_BYTES} bytes"
        ))));
    }
    let bytes = std::fs::read(archive).map_err(io_err)?;
    render_chart(ChartSource::Archive(bytes), values_dir, None, opts)
}

/// Renders `source` with values files relative to `base`; origins under `chart_dir` (the chart folder as
/// shown), or the chart's own `CHART/PATH` when `None`.
fn render_chart(
    source: ChartSource,
    base: &Path,
    chart_dir: Option<&Path>,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let mut hopts = opts.helm.clone().unwrap_or_default();
    // Values files are relative to the chart folder (Argo CD) unless absolute.
    hopts.value_files = hopts.value_files.iter().map(|f| joined(base, f)).collect();
    if opts.helm_ignore_missing_value_files {
        hopts.value_files.retain(|f| Path::new(f).is_file());
    }
    // SOPS-encrypted values files are decrypted here and served from memory under their own path.
    let mut inline = decrypted_value_files(&hopts.value_files, opts)?;
    // Inline values are served from memory under a name of their own, after the values files.
    for (name, text) in &opts.helm_inline_values {
        let virtual_path = base.join(name);
        hopts.value_files.push(virtual_path.display().to_string());
        inline.push((virtual_path, text.clone().into_bytes()));
    }
    let out = match &opts.confine_to {
        Some(root) => {
            let fs = ConfinedChartFs {
                disk: ConfinedFs::new(Roots::new(root)),
                inline,
            };
            tack_helm::render_with(&fs, &source, &hopts)
        }
        None if inline.is_empty() => tack_helm::render(&source, &hopts),
        None => {
            let fs = ConfinedChartFs {
                disk: ConfinedFs::new(Roots::new(Path::new("/"))),
                inline,
            };
            tack_helm::render_with(&fs, &source, &hopts)
        }
    }
    .map_err(|e| RenderError::Engine {
        engine: HelmRenderer::NAME,
        source: Box::new(e),
    })?;
    let mut manifests = Vec::new();
    for doc in &out.documents {
        if doc.kind == DocumentKind::Crd && !hopts.include_crds {
            continue;
        }
        // `# Source: CHART/templates/x.yaml` → the file inside the chart folder.
        let file = match chart_dir {
            Some(dir) => dir.join(
                doc.source
                    .split_once('/')
                    .map(|(_, rest)| rest)
                    .unwrap_or(&doc.source),
            ),
            None => PathBuf::from(&doc.source),
        };
        let parsed = tack_yaml::parse_documents_with(
            &doc.content,
            &file.display().to_string(),
            tack_yaml::Schema::Yaml11,
        )
        .map_err(|e| RenderError::Syntax {
            origin: Origin::new(file.clone(), 0),
            message: format!("the rendered template is not valid YAML: {e}"),
        })?;
        for d in parsed {
            if d.value.is_null() {
                continue;
            }
            manifests.push(Manifest {
                object: d.value,
                origin: Origin::new(file.clone(), d.line as u64),
            });
        }
    }
    Ok(Rendered {
        manifests,
        yaml: out.text,
        engine: HelmRenderer::NAME,
        warnings: Vec::new(),
        timings: Vec::new(),
    })
}

/// The values files that are SOPS-encrypted, decrypted, as (path the engine reads, plaintext). Unreadable
/// files are left to the engine, which reports them.
fn decrypted_value_files(
    files: &[String],
    opts: &RenderOptions,
) -> Result<Vec<(PathBuf, Vec<u8>)>, RenderError> {
    let mut out = Vec::new();
    for f in files {
        let path = Path::new(f);
        let bytes = match &opts.confine_to {
            Some(root) => FileSystem::read(&ConfinedFs::new(Roots::new(root)), path),
            None => std::fs::read(path),
        };
        let Ok(bytes) = bytes else { continue };
        let plain =
            crate::decrypt::decrypted_bytes(path, &bytes, opts.decrypt.as_deref()).map_err(|source| {
                RenderError::Io {
                    path: crate::display_path(path, opts),
                    source,
                }
            })?;
        if let Some(plain) = plain {
            out.push((path.to_path_buf(), plain));
        }
    }
    Ok(out)
}

fn joined(base: &Path, file: &str) -> String {
    let p = Path::new(file);
    if p.is_absolute() {
        file.to_string()
    } else {
        base.join(p).display().to_string()
    }
}

/// [`ConfinedFs`] as the Helm engine's filesystem, plus inline values files served from memory.
struct ConfinedChartFs {
    disk: ConfinedFs,
    inline: Vec<(PathBuf, Vec<u8>)>,
}

impl ConfinedChartFs {
    fn inline(&self, path: &Path) -> Option<&[u8]> {
        self.inline
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }
}

impl ChartFs for ConfinedChartFs {
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>> {
        let real = FileSystem::canonicalize(&self.disk, path)?;
        tack_helm::DiskFs.read_dir(&real)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.inline(path) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => FileSystem::read(&self.disk, path),
        }
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        if let Some(bytes) = self.inline(path) {
            return Ok(bytes.len() as u64);
        }
        let real: PathBuf = FileSystem::canonicalize(&self.disk, path)?;
        Ok(std::fs::metadata(real)?.len())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if self.inline(path).is_some() {
            return Ok(path.to_path_buf());
        }
        FileSystem::canonicalize(&self.disk, path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        FileSystem::is_dir(&self.disk, path)
    }
}

/// Kustomize's `helmCharts`, inflated by the native engine: the chart folder under `chartHome` (read through
/// the same confinement as the kustomization), or, for an entry with `repo` whose chart is not there, the
/// chart fetched into tack's chart cache by digest (`tack-source`); tack never writes into `chartHome`.
#[derive(Clone, Debug)]
pub struct KustomizeHelmCharts {
    /// The confinement of a Git source; `None`: the user's own disk.
    pub roots: Option<Roots>,
    /// tack's source cache, for charts with `repo`; `None`: such charts must already be under `chartHome`.
    pub cache_dir: Option<PathBuf>,
}

impl tack_kustomize::HelmInflator for KustomizeHelmCharts {
    fn inflate(&self, c: &tack_kustomize::HelmInflation) -> Result<String, String> {
        if let Some(roots) = &self.roots {
            roots.check(&c.chart_dir).map_err(|e| e.to_string())?;
        }
        let disk = ConfinedFs::new(self.roots.clone().unwrap_or_else(|| Roots::new(Path::new("/"))));
        let source = if FileSystem::is_dir(&disk, &c.chart_dir) {
            ChartSource::Path(c.chart_dir.clone())
        } else if c.repo.is_empty() {
            return Err(format!(
                "no repo specified for pull, no chart found at '{}'",
                c.chart_dir.display()
            ));
        } else {
            let Some(cache) = &self.cache_dir else {
                return Err(format!(
                    "the chart {} from {} is not at '{}' and no chart cache is available to fetch it into",
                    c.name,
                    c.repo,
                    c.chart_dir.display()
                ));
            };
            let chart = tack_source::chart::ChartRef::from_repo(&c.repo, &c.name, &c.version);
            let fetched = tack_source::chart::ChartFetcher::new(cache)
                .fetch(&chart)
                .map_err(|e| e.to_string())?;
            let bytes =
                std::fs::read(&fetched.path).map_err(|e| format!("{}: {e}", fetched.path.display()))?;
            ChartSource::Archive(bytes)
        };
        let mut inline = Vec::new();
        let mut value_files = Vec::new();
        let merged = match (&c.pending_merge, &source) {
            (Some((values, overwrite)), ChartSource::Archive(bytes)) => {
                let text = chart_values(bytes)?;
                let name = format!("{}/values.yaml", c.name);
                Some(tack_kustomize::helm::merged_values(
                    &text, &name, values, *overwrite,
                )?)
            }
            _ => None,
        };
        if let Some(text) = merged.as_ref().or(c.inline_values.as_ref()) {
            // kustomize writes the merged values to a file of its own and passes it first.
            let virtual_path = c
                .chart_dir
                .with_file_name(format!("{}-kustomize-values.yaml", c.name));
            value_files.push(virtual_path.display().to_string());
            inline.push((virtual_path, text.clone().into_bytes()));
        }
        value_files.extend(c.value_files.iter().map(|p| p.display().to_string()));
        let defaults = tack_helm::Options::default();
        let opts = tack_helm::Options {
            release_name: c.release_name.clone(),
            namespace: if c.namespace.is_empty() {
                defaults.namespace.clone()
            } else {
                c.namespace.clone()
            },
            value_files,
            api_versions: c.api_versions.clone(),
            kube_version: (!c.kube_version.is_empty()).then(|| c.kube_version.clone()),
            include_crds: c.include_crds,
            no_hooks: c.skip_hooks,
            skip_tests: c.skip_tests,
            ..defaults
        };
        let fs = ConfinedChartFs { disk, inline };
        tack_helm::render_with(&fs, &source, &opts)
            .map(|r| r.text)
            .map_err(|e| e.to_string())
    }
}

/// The text of a chart archive's own `values.yaml` (empty when it has none).
fn chart_values(archive: &[u8]) -> Result<String, String> {
    let files =
        tack_helm::archive::read_archive(archive, tack_helm::Limits::default()).map_err(|e| e.to_string())?;
    Ok(files
        .iter()
        .find(|f| {
            f.name == "values.yaml"
                || f.name
                    .split_once('/')
                    .is_some_and(|(_, rest)| rest == "values.yaml")
        })
        .map(|f| String::from_utf8_lossy(&f.data).into_owned())
        .unwrap_or_default())
}
