//! Kustomize, natively: builds a kustomization directory exactly as `kubectl kustomize`
//! (Kustomize v5.5.0) does.
//!
//! The engine is pure: files come through [`FileSystem`] ([`DiskFs`] or [`MemFs`]).
//!
//! ```no_run
//! use tack_kustomize::{build, DiskFs, Options};
//! let out = build(&DiskFs, std::path::Path::new("deploy/overlays/prod"), &Options::default())?;
//! print!("{}", out.to_yaml());
//! # Ok::<(), tack_kustomize::Error>(())
//! ```

#![warn(missing_docs)]

mod accumulator;
mod build;
mod config;
mod crds;
mod fs;
mod generators;
pub mod helm;
mod jsonpatch;
mod kustomization;
mod nameref;
mod openapi;
mod patch;
mod plugins;
mod remote;
mod replacement;
mod resource;
mod selector;
mod smp;
mod source_text;
mod transform;
mod vars;

use std::path::{Path, PathBuf};

pub use fs::{DiskFs, FileSystem, MemFs};
pub use helm::{HelmInflation, HelmInflator};
pub use remote::{RemoteLoader, RemoteSpec, is_remote, parse as parse_remote};
pub use serde_json::Value;

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Files must live under the kustomization's own directory (Kustomize's default).
    #[default]
    RootOnly,
    /// Any file may be read.
    None,
}

/// Build options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// File load restriction (`--load-restrictor`).
    pub load_restrictor: LoadRestrictor,
    /// Fetches remote bases (`resources:` entries that are Git URLs). Without one, such entries
    /// are an error.
    pub remote: Option<std::sync::Arc<dyn RemoteLoader + Send + Sync>>,
    /// Measure where the build spends its time ([`Output::timings`]).
    pub timings: bool,
    /// Inflates `helmCharts`. Without one, `helmCharts` is refused as `kubectl kustomize` refuses it without
    /// `--enable-helm`.
    pub helm: Option<std::sync::Arc<dyn HelmInflator>>,
}

/// The result of a build.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The rendered objects, in output order.
    pub objects: Vec<Value>,
    /// Deprecation warnings, as kubectl prints them on stderr.
    pub warnings: Vec<String>,
    /// With [`Options::timings`]: total time and count per build phase, in first-seen order.
    pub timings: Vec<PhaseTiming>,
}

/// One build phase's name, total duration and number of runs.
pub type PhaseTiming = (&'static str, std::time::Duration, usize);

impl Output {
    /// The objects as `kubectl kustomize` prints them.
    pub fn to_yaml(&self) -> String {
        tack_yaml::to_yaml_stream(self.objects.iter())
    }
}

/// Build errors. Every error names the file (and, where it applies, the field) it comes from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A YAML syntax error.
    #[error(transparent)]
    Yaml(#[from] tack_yaml::ParseError),
    /// The kustomization file is invalid.
    #[error("{file}: {message}")]
    Kustomization {
        /// The kustomization file.
        file: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Anything else, with its context in the message.
    #[error("{0}")]
    Msg(String),
}

impl Error {
    pub(crate) fn msg(m: impl Into<String>) -> Error {
        Error::Msg(m.into())
    }
}

/// The file names a kustomization may have.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether `dir` holds a kustomization file.
pub fn is_kustomization_dir(fs: &dyn FileSystem, dir: &Path) -> bool {
    KUSTOMIZATION_FILE_NAMES.iter().any(|n| fs.is_file(&dir.join(n)))
}

/// Builds the kustomization in `dir`.
pub fn build(fs: &dyn FileSystem, dir: &Path, opts: &Options) -> Result<Output, Error> {
    build::run(fs, dir, opts)
}

/// Entry points for fuzzing and property tests (not a stable API).
#[doc(hidden)]
pub mod testing {
    use crate::resource::Gvk;
    use serde_json::Value;

    /// Strategic merge of `patch` into `dest` as for an object of the given apiVersion/kind.
    /// `Ok(None)` means the patch deletes the object.
    pub fn smp_apply(
        dest: &Value,
        patch: &Value,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Value>, crate::Error> {
        crate::smp::apply(
            dest.clone(),
            patch,
            &Gvk::from_api_version(api_version, kind),
            &crate::openapi::Schema::Builtin,
        )
    }

    /// JSON 6902 operations applied in place.
    pub fn json_patch_apply(doc: &mut Value, ops: &Value) -> Result<(), crate::Error> {
        crate::jsonpatch::apply(doc, ops)
    }

    /// Decodes a kustomization file's text.
    pub fn parse_kustomization(text: &str) -> Result<(), crate::Error> {
        let docs = tack_yaml::parse_documents_with(text, "kustomization.yaml", tack_yaml::Schema::Yaml11)?;
        let doc = docs
            .into_iter()
            .map(|d| d.value)
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null);
        crate::kustomization::decode(&doc, "kustomization.yaml").map(|_| ())
    }
}
