//! The Kustomize renderer: a directory holding a kustomization file, built by `tack-kustomize` exactly as
//! `kubectl kustomize` builds it.

use std::path::Path;
use std::sync::Arc;

use tack_kustomize::{DiskFs, FileSystem, KUSTOMIZATION_FILE_NAMES, RemoteLoader};

use crate::confine::{ConfinedFs, ConfinedRemote, Roots};
use crate::{GitRemoteBases, Manifest, Origin, RenderError, RenderOptions, Rendered, Renderer, display_path};

/// Builds kustomization directories.
#[derive(Clone, Copy, Debug, Default)]
pub struct KustomizeRenderer;

impl KustomizeRenderer {
    /// The renderer's name, as [`Renderer::name`] returns it and errors and source types name it.
    pub const NAME: &'static str = "kustomize";
}

impl Renderer for KustomizeRenderer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn detect(&self, dir: &Path) -> bool {
        tack_kustomize::is_kustomization_dir(&DiskFs, dir)
    }

    fn render(&self, dir: &Path, opts: &RenderOptions) -> Result<Vec<Manifest>, RenderError> {
        self.render_output(dir, opts).map(|r| r.manifests)
    }

    fn render_output(&self, dir: &Path, opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let remote: Option<Arc<dyn RemoteLoader + Send + Sync>> = opts.cache_dir.as_ref().map(|c| {
            let loader = GitRemoteBases::new(c.clone()).with_check(opts.remote_bases.clone());
            Arc::new(loader) as Arc<dyn RemoteLoader + Send + Sync>
        });
        // helmCharts are always inflated: kubectl asks for --enable-helm because it runs a helm binary; tack's
        // engine runs in process, confined like every other file of the source.
        let helm = |roots: Option<Roots>| -> Arc<dyn tack_kustomize::HelmInflator> {
            Arc::new(crate::helm::KustomizeHelmCharts {
                roots,
                cache_dir: opts.cache_dir.clone(),
            })
        };
        let mut kopts = tack_kustomize::Options {
            timings: opts.timings,
            ..Default::default()
        };
        let out = match &opts.confine_to {
            Some(root) => {
                let roots = Roots::new(root);
                kopts.remote = remote.map(|r| {
                    Arc::new(ConfinedRemote::new(r, roots.clone())) as Arc<dyn RemoteLoader + Send + Sync>
                });
                kopts.helm = Some(helm(Some(roots.clone())));
                build(&ConfinedFs::new(roots), dir, &kopts, opts)?
            }
            None => {
                kopts.remote = remote;
                kopts.helm = Some(helm(None));
                build(&DiskFs, dir, &kopts, opts)?
            }
        };
        let file = KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join("kustomization.yaml"));
        let file = display_path(&file, opts);
        let yaml = out.to_yaml();
        let timings = out
            .timings
            .iter()
            .map(|(phase, took, count)| format!("kustomize timing: {phase}: {took:.3?} ({count}×)"))
            .collect();
        let manifests = out
            .objects
            .into_iter()
            .map(|object| Manifest {
                object,
                origin: Origin::new(file.clone(), 0),
            })
            .collect();
        Ok(Rendered {
            manifests,
            yaml,
            engine: Self::NAME,
            warnings: out.warnings,
            timings,
        })
    }
}

fn build(
    fs: &dyn FileSystem,
    dir: &Path,
    kopts: &tack_kustomize::Options,
    opts: &RenderOptions,
) -> Result<tack_kustomize::Output, RenderError> {
    // SOPS-encrypted resources and generator inputs are decrypted as Kustomize reads them.
    let fs = crate::decrypt::DecryptingFs {
        inner: fs,
        ids: opts.decrypt.as_deref(),
    };
    tack_kustomize::build(&fs, dir, kopts).map_err(|e| RenderError::Engine {
        engine: KustomizeRenderer::NAME,
        source: format!("build of {} failed: {e}", shown_dir(&display_path(dir, opts))).into(),
    })
}

fn shown_dir(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".to_string()
    } else {
        p.display().to_string()
    }
}
