//! The Helm renderer: a chart folder (holding `Chart.yaml`) or a chart archive (`.tgz`), rendered by
//! `tack-helm` exactly as `helm template` renders it.
//!
//! Values files named in the options are read relative to the chart folder (Argo CD's `valueFiles`); for a
//! Git source they, like every chart file, must lie inside the checkout.

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
        let mut hopts = opts.helm.clone().unwrap_or_default();
        let base = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        // Values files are relative to the chart folder (Argo CD) unless absolute.
        hopts.value_files = hopts.value_files.iter().map(|f| joined(&base, f)).collect();
        if opts.helm_ignore_missing_value_files {
            hopts.value_files.retain(|f| Path::new(f).is_file());
        }
        // Inline values are served from memory under a name of their own, after the values files.
        let mut inline = Vec::new();
        for (name, text) in &opts.helm_inline_values {
            let virtual_path = base.join(name);
            hopts.value_files.push(virtual_path.display().to_string());
            inline.push((virtual_path, text.clone().into_bytes()));
        }
        let source = ChartSource::Path(path.to_path_buf());
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
            engine: Self::NAME,
            source: Box::new(e),
        })?;
        let chart_dir = crate::display_path(&base, opts);
        let mut manifests = Vec::new();
        for doc in &out.documents {
            if doc.kind == DocumentKind::Crd && !hopts.include_crds {
                continue;
            }
            // `# Source: CHART/templates/x.yaml` → the file inside the chart folder.
            let inside = doc
                .source
                .split_once('/')
                .map(|(_, rest)| rest)
                .unwrap_or(&doc.source);
            let file = chart_dir.join(inside);
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
            engine: Self::NAME,
            warnings: Vec::new(),
            timings: Vec::new(),
        })
    }
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
