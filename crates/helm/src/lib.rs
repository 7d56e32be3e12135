//! Helm charts, rendered natively: chart loading (folders and `.tgz` archives, confined to the chart),
//! dependencies, values, Helm's template functions and `helm template`'s exact output (Helm v4.3.2).
//!
//! ```no_run
//! let opts = tack_helm::Options { release_name: "web".into(), ..Default::default() };
//! let rendered = tack_helm::render(&tack_helm::ChartSource::Path("charts/web".into()), &opts)?;
//! print!("{}", rendered.text);
//! # Ok::<(), tack_helm::Error>(())
//! ```
//!
//! The renderer is pure: files are read through [`ChartFs`], there is no network, and `lookup` returns an
//! empty map as under `helm template`. Random functions of Sprig (`randAlphaNum`, `uuidv4`, `genCA`, ...)
//! produce different output on every render, as in Helm.

#![warn(missing_docs)]

pub mod archive;
pub mod args;
pub mod capabilities;
pub mod chart;
pub mod coalesce;
pub mod dependencies;
pub mod duration;
mod engine;
mod error;
pub mod files;
pub mod fs;
mod funcs;
pub mod glob;
pub mod ignore;
pub mod interop;
pub mod json;
pub mod manifest;
pub mod metadata;
mod parallel;
pub mod schema;
pub mod semver;
pub mod strvals;
pub mod toml;
mod values;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use tack_gotemplate::{Map, Value};

pub use capabilities::{Capabilities, KubeVersion};
pub use chart::Chart;
pub use error::{Error, Result};
pub use fs::{BufferedFile, ChartFs, DiskFs, Limits};
pub use manifest::Manifest;

/// Where a chart comes from.
#[derive(Debug, Clone)]
pub enum ChartSource {
    /// A chart folder or a `.tgz` archive on the filesystem (detected as Helm's `loader.Load` does).
    Path(PathBuf),
    /// The bytes of a chart archive (`.tgz`).
    Archive(Vec<u8>),
    /// The chart's files, already read (names relative to the chart root).
    Files(Vec<BufferedFile>),
}

/// `helm template`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `.Release.Name` (`helm template NAME CHART`; `release-name` by default).
    pub release_name: String,
    /// `.Release.Namespace` (`--namespace`; `default`).
    pub namespace: String,
    /// `-f/--values` files, in order (paths read through the [`ChartFs`]).
    pub value_files: Vec<String>,
    /// `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal` arguments, each in order.
    pub set_json: Vec<String>,
    /// `--set`: `a.b=value` with values typed as Helm types them.
    pub set: Vec<String>,
    /// `--set-string`: `a.b=value` with every value a string.
    pub set_string: Vec<String>,
    /// `--set-file`: `a.b=path`, the value read from the file.
    pub set_file: Vec<String>,
    /// `--set-literal`: `a.b=value` taken literally (no commas, escapes or types).
    pub set_literal: Vec<String>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--api-versions`, added to the defaults.
    pub api_versions: Vec<String>,
    /// `--include-crds`: the charts' `crds/` files first in the output.
    pub include_crds: bool,
    /// `--no-hooks`: hooks are not printed.
    pub no_hooks: bool,
    /// `--skip-tests`: test hooks are not printed.
    pub skip_tests: bool,
    /// `--show-only`: only documents from templates matching these paths (relative to the chart).
    pub show_only: Vec<String>,
    /// `--is-upgrade`: `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    pub is_upgrade: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// Limits on what a chart may make tack read and produce (file sizes, counts, output).
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            release_name: "release-name".into(),
            namespace: "default".into(),
            value_files: Vec::new(),
            set_json: Vec::new(),
            set: Vec::new(),
            set_string: Vec::new(),
            set_file: Vec::new(),
            set_literal: Vec::new(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            no_hooks: false,
            skip_tests: false,
            show_only: Vec::new(),
            is_upgrade: false,
            skip_schema_validation: false,
            limits: Limits::default(),
        }
    }
}

/// What a document of the output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A file of a chart's `crds/` folder (`--include-crds`).
    Crd,
    /// An ordinary manifest.
    Manifest,
    /// A Helm hook (`helm.sh/hook` annotation).
    Hook,
}

/// One document of the output, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The `# Source:` path (`chart/templates/x.yaml`, `chart/charts/sub/crds/y.yaml`).
    pub source: String,
    /// The document as rendered (without the `---` and `# Source:` lines).
    pub content: String,
    /// Whether it is a CRD, an ordinary manifest or a hook.
    pub kind: DocumentKind,
    /// The hook events (`pre-install`, `test`, ...) of a hook.
    pub hook_events: Vec<String>,
}

/// The result of a render.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// CRDs (with `include_crds`), manifests and hooks, in `helm template`'s order.
    pub documents: Vec<Document>,
    /// Exactly what `helm template` prints.
    pub text: String,
    /// The root chart's rendered NOTES.txt (not part of the output).
    pub notes: String,
    /// Wall time per phase (user values, load, dependencies, coalesce and schema, parse, execute, sort and
    /// output).
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Renders a chart from the real filesystem.
pub fn render(source: &ChartSource, opts: &Options) -> Result<Rendered> {
    render_with(&DiskFs, source, opts)
}

/// Loads a chart (with its subcharts) without rendering it.
pub fn load(fs: &dyn ChartFs, source: &ChartSource, limits: Limits) -> Result<Chart> {
    let files = match source {
        ChartSource::Files(files) => files.clone(),
        ChartSource::Archive(data) => archive::read_archive(data, limits)?,
        ChartSource::Path(p) => {
            if fs.is_dir(p) {
                let files = fs::read_dir_files(fs, p, limits)?;
                if !files.iter().any(|f| f.name == "Chart.yaml") {
                    let at = p.join("Chart.yaml");
                    return Err(Error::Load(format!(
                        "unable to detect chart at {0}: open {0}: no such file or directory",
                        at.display()
                    )));
                }
                files
            } else {
                let data = fs.read(p).map_err(|_| {
                    Error::Load(format!(
                        "non-absolute URLs should be in form of repo_name/path_to_chart, got: {}",
                        p.display()
                    ))
                })?;
                if !(data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
                    return Err(Error::Load(format!(
                        "file '{}' does not appear to be a gzipped archive; got '{}'",
                        p.display(),
                        if data.is_empty() {
                            "text/plain; charset=utf-8"
                        } else {
                            "application/octet-stream"
                        }
                    )));
                }
                archive::read_archive(&data, limits)?
            }
        }
    };
    chart::load_files(files, limits, 0)
}

fn valid_release_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 53 {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// Renders a chart, reading the chart, values files and `--set-file` files through `fs`.
pub fn render_with(fs: &dyn ChartFs, source: &ChartSource, opts: &Options) -> Result<Rendered> {
    let mut clock = Clock::new();
    let kube_version = opts.kube_version.as_deref().map(KubeVersion::parse).transpose()?;
    let user = values::user_values(opts, fs)?;
    clock.lap("user values");
    let mut chart = load(fs, source, opts.limits)?;
    clock.lap("load");
    if !(chart.metadata.chart_type.is_empty() || chart.metadata.chart_type == "application") {
        return Err(Error::Load(format!(
            "{} charts are not installable",
            chart.metadata.chart_type
        )));
    }
    check_dependencies(&chart)?;
    if !valid_release_name(&opts.release_name) {
        return Err(Error::Args(format!(
            "release name check failed: release name {:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53",
            opts.release_name
        )));
    }
    let funcs = funcs::helm_funcs();
    let max_output = opts.limits.max_output_bytes;
    if parallel::workers() < 2 {
        let top = prepare(&mut chart, &user, kube_version, opts, &mut clock)?;
        let files = engine::render(
            &chart,
            &top,
            max_output,
            &funcs,
            Vec::new(),
            &mut |_, _| {},
            &mut clock,
        )?;
        return finish(&chart, opts, files, HashMap::new(), clock);
    }
    // Two more threads: one parses the templates while the values are prepared, one reads the rendered
    // documents while the next templates execute.
    let texts = engine::template_texts(&chart);
    let names = funcs.names();
    std::thread::scope(|s| {
        let parser = s.spawn(move || engine::parse_texts(texts, &names));
        let top = prepare(&mut chart, &user, kube_version, opts, &mut clock)?;
        let parsed = parser.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
        let reader = s.spawn(move || {
            rx.into_iter()
                .filter_map(|(path, out)| Some((path.clone(), manifest::read_file(&path, &out)?)))
                .collect::<HashMap<_, _>>()
        });
        let mut send = |path: &str, out: &str| {
            // The reader stops only when this sender is dropped; a failed send leaves the file to be read later.
            let _ = tx.send((path.to_string(), out.to_string()));
        };
        let files = engine::render(&chart, &top, max_output, &funcs, parsed, &mut send, &mut clock);
        drop(tx);
        let read = reader.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        finish(&chart, opts, files?, read, clock)
    })
}

/// Processes the chart's dependencies and coalesces its values (checked against its schema and its
/// Kubernetes version): the top-level render values.
fn prepare(
    chart: &mut Chart,
    user: &Map,
    kube_version: Option<KubeVersion>,
    opts: &Options,
    clock: &mut Clock,
) -> Result<engine::TopValues> {
    dependencies::process(chart, user)
        .map_err(|e| Error::Values(format!("chart dependencies processing failed: {e}")))?;
    clock.lap("dependencies");
    let caps = Capabilities::new(kube_version, &opts.api_versions);
    let coalesced = coalesce::coalesce_values(&dependencies::values_tree(chart), user)
        .map_err(|e| Error::Values(e.0))?
        .values;
    if !opts.skip_schema_validation {
        interop::validate_schema(chart, &coalesced)?;
    }
    if !chart.metadata.kube_version.is_empty()
        && !semver::is_compatible_range(&chart.metadata.kube_version, &caps.kube_version.normalized)
    {
        return Err(Error::KubeVersion(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, caps.kube_version.version
        )));
    }
    clock.lap("coalesce and schema");
    Ok(engine::TopValues {
        values: Value::map(coalesced),
        release: release_value(opts),
        capabilities: caps.to_value(),
    })
}

/// From the rendered files to the output: notes taken out, documents sorted into hooks and manifests.
fn finish(
    chart: &Chart,
    opts: &Options,
    mut files: BTreeMap<String, String>,
    read: HashMap<String, manifest::ReadFile>,
    mut clock: Clock,
) -> Result<Rendered> {
    let notes = take_notes(&mut files, chart.name());
    let (hooks, manifests) = manifest::sort_manifests(&files, read)?;
    let mut out = assemble(chart, opts, hooks, manifests, notes)?;
    clock.lap("sort and output");
    out.timings = clock.laps;
    Ok(out)
}

/// Time spent per render phase.
pub(crate) struct Clock {
    last: std::time::Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }
    pub(crate) fn lap(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((phase, now - self.last));
        self.last = now;
    }
}

fn release_value(opts: &Options) -> Value {
    let mut r = Map::new();
    r.insert("Name".into(), Value::string(opts.release_name.as_str()));
    r.insert("Namespace".into(), Value::string(opts.namespace.as_str()));
    r.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    r.insert("IsInstall".into(), Value::Bool(!opts.is_upgrade));
    r.insert("Revision".into(), Value::Int(1));
    r.insert("Service".into(), Value::string("Helm"));
    Value::map(r)
}

/// Helm's `CheckDependencies`: every declared dependency must be present in `charts/`.
fn check_dependencies(chart: &Chart) -> Result<()> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Load(format!(
        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        missing.join(", ")
    )))
}

/// Removes every `NOTES.txt` output; returns the root chart's.
fn take_notes(files: &mut BTreeMap<String, String>, root: &str) -> String {
    let keys: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with("NOTES.txt"))
        .cloned()
        .collect();
    let root_notes = format!("{root}/templates/NOTES.txt");
    let mut notes = String::new();
    for k in keys {
        if let Some(v) = files.remove(&k)
            && k == root_notes
        {
            notes = v;
        }
    }
    notes
}

fn assemble(
    chart: &Chart,
    opts: &Options,
    hooks: Vec<Manifest>,
    manifests: Vec<Manifest>,
    notes: String,
) -> Result<Rendered> {
    let mut documents = Vec::new();
    let mut manifest_text = String::new();
    if opts.include_crds {
        let mut crds = Vec::new();
        chart.crd_files("", &mut crds);
        for (path, f) in crds {
            let content = String::from_utf8_lossy(&f.data).into_owned();
            manifest_text.push_str(&format!("---\n# Source: {path}\n{content}\n"));
            documents.push(Document {
                source: path,
                content,
                kind: DocumentKind::Crd,
                hook_events: Vec::new(),
            });
        }
    }
    for m in manifests {
        manifest_text.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
        documents.push(Document {
            source: m.source,
            content: m.content,
            kind: DocumentKind::Manifest,
            hook_events: Vec::new(),
        });
    }
    let mut text = format!("{}\n", manifest_text.trim());
    if !opts.no_hooks {
        for h in hooks {
            if opts.skip_tests && h.is_test_hook() {
                continue;
            }
            text.push_str(&format!("---\n# Source: {}\n{}\n", h.source, h.content));
            documents.push(Document {
                source: h.source,
                content: h.content,
                kind: DocumentKind::Hook,
                hook_events: h.hook_events,
            });
        }
    }
    if !opts.show_only.is_empty() {
        text = manifest::show_only(&text, &opts.show_only)?;
        documents.retain(|d| {
            let rel = d.source.split_once('/').map(|(_, r)| r).unwrap_or("");
            opts.show_only
                .iter()
                .any(|p| glob::path_match(&p.replace('\\', "/"), rel).unwrap_or(false))
        });
    }
    Ok(Rendered {
        documents,
        text,
        notes,
        timings: Vec::new(),
    })
}
