//! The build pipeline: load a kustomization, accumulate resources depth-first, run generators,
//! components and transformers in Kustomize's order, then the top-level steps (hash suffixes,
//! name references, vars, local-config filtering, sorting).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::accumulator::{Acc, append, expand, merge_generated};
use crate::fs::{FileSystem, normalize};
use crate::generators::{self, SourceReader};
use crate::kustomization::{self, Kustomization, PatchEntry};
use crate::resource::{FieldSpec, IdKey, Resource, id_key};
use crate::source_text::utf8_text;
use crate::{Error, KUSTOMIZATION_FILE_NAMES, LoadRestrictor, Options, Output, transform};

/// The state of one build: where files come from, the options, the warnings so far, the
/// kustomizations being built (for cycle detection) and what the top kustomization turned on.
pub(crate) struct Ctx<'a> {
    pub fs: &'a dyn FileSystem,
    pub opts: &'a Options,
    pub warnings: Vec<String>,
    pub stack: Vec<PathBuf>,
    /// The top kustomization's directory (origin paths are relative to it).
    pub top: PathBuf,
    /// Whether transformer annotations are being recorded.
    pub track: bool,
    /// Schema for strategic merge (`openapi:`).
    pub schema: crate::openapi::Schema,
    /// Phase timings, when requested.
    pub timings: Option<std::cell::RefCell<Vec<crate::PhaseTiming>>>,
}

/// `to` relative to the directory `from` (both absolute and normalised).
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(t.iter()).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..f.len() {
        parts.push("..".into());
    }
    for c in &t[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}

pub(crate) fn configured_by(kfile_rel: &str, kind: &str) -> String {
    format!("configuredIn: {kfile_rel}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n")
}

/// A base built ahead on another thread: its accumulated resources and warnings, or its error.
type Prebuilt = Option<Result<(Acc, Vec<String>), Error>>;

pub fn run(fs: &dyn FileSystem, dir: &Path, opts: &Options) -> Result<Output, Error> {
    let dir = fs.canonicalize(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut ctx = Ctx {
        fs,
        opts,
        warnings: Vec::new(),
        stack: Vec::new(),
        top: dir.clone(),
        track: false,
        schema: Default::default(),
        timings: opts.timings.then(Default::default),
    };
    if let Ok((k, _)) = ctx.load_kustomization(&dir) {
        ctx.track = k.build_metadata.iter().any(|b| b == "transformerAnnotations");
    }
    let mut acc = Acc::new();
    let started = std::time::Instant::now();
    let k = ctx.build_kust(&dir, &mut acc, false)?;
    let build_time = started.elapsed();

    add_hash_suffixes(&mut acc.res);
    ctx.timed("name references", || {
        crate::nameref::fix(&mut acc.res, &acc.config.name_reference)
    })?;
    crate::vars::resolve_vars(&mut acc)?;
    acc.res.retain(|r| {
        r.annotations()
            .get("config.kubernetes.io/local-config")
            .and_then(|v| v.as_str())
            != Some("true")
    });
    ctx.timed("sort", || {
        transform::sort(&mut acc.res, k.sort_options.as_ref(), &dir)
    })?;
    if k.build_metadata.iter().any(|b| b == "managedByLabel") {
        add_managed_by(&mut acc.res);
    }
    let origins = k.build_metadata.iter().any(|b| b == "originAnnotations");
    for r in acc.res.iter_mut() {
        finish_metadata(r, origins, ctx.track);
    }
    let mut timings = ctx.timings.take().map(|t| t.into_inner()).unwrap_or_default();
    if opts.timings {
        timings.insert(0, ("build (resources, generators, transformers)", build_time, 1));
    }
    Ok(Output {
        objects: acc.res.into_iter().map(|r| Value::Object(r.obj)).collect(),
        warnings: ctx.warnings,
        timings,
    })
}

/// `generators:`/`transformers:` entries in Kustomize's order: inline configs first, then
/// files and directories.
fn inline_first(entries: &[String]) -> impl Iterator<Item = &String> {
    let inline = entries.iter().filter(|e| e.contains('\n'));
    inline.chain(entries.iter().filter(|e| !e.contains('\n')))
}

/// Generated objects that want one get their content hash appended to their name.
fn add_hash_suffixes(res: &mut [Resource]) {
    for r in res.iter_mut() {
        if r.needs_hash {
            let h = generators::hash(&r.obj);
            r.store_prev_id();
            let n = format!("{}-{h}", r.name());
            r.set_name(&n);
        }
    }
}

/// `buildMetadata: [managedByLabel]`.
fn add_managed_by(res: &mut [Resource]) {
    for r in res.iter_mut() {
        let md = r.metadata_mut();
        let labels = md.entry("labels").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(l) = labels {
            l.insert(
                "app.kubernetes.io/managed-by".into(),
                Value::String("kustomize-(devel)".into()),
            );
        }
    }
}

/// Removes internal annotations and writes the origin and transformer annotations requested by
/// `buildMetadata`.
fn finish_metadata(r: &mut Resource, origins: bool, track: bool) {
    strip_internal(&mut r.obj);
    stringify_annotations(&mut r.obj);
    let mut add = Vec::new();
    if origins && let Some(o) = &r.origin {
        add.push(("config.kubernetes.io/origin", o.clone()));
    }
    if track && !r.transformations.is_empty() {
        let mut t = String::new();
        for e in &r.transformations {
            for (i, line) in e.lines().enumerate() {
                t.push_str(if i == 0 { "- " } else { "  " });
                t.push_str(line);
                t.push('\n');
            }
        }
        add.push(("alpha.config.kubernetes.io/transformations", t));
    }
    if !add.is_empty() {
        let md = r.metadata_mut();
        let ann = md
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(a) = ann {
            for (k, v) in add {
                a.insert(k.into(), Value::String(v));
            }
        }
    }
}

/// Annotation values are strings to Kustomize: a number, boolean or null written in a
/// resource's `metadata.annotations` comes out as the string of its text.
fn stringify_annotations(obj: &mut Map<String, Value>) {
    let Some(Value::Object(a)) = obj.get_mut("metadata").and_then(|m| m.get_mut("annotations")) else {
        return;
    };
    for v in a.values_mut() {
        let text = match v {
            Value::String(_) | Value::Object(_) | Value::Array(_) => continue,
            Value::Number(n) => tack_yaml::number_text(n),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
        };
        *v = Value::String(text);
    }
}

/// Annotations Kustomize uses internally and never prints.
fn is_internal_annotation(k: &str) -> bool {
    k.starts_with("internal.config.kubernetes.io/")
        || matches!(
            k,
            "config.kubernetes.io/path"
                | "config.kubernetes.io/index"
                | "config.k8s.io/id"
                | "config.kubernetes.io/previousKinds"
                | "config.kubernetes.io/previousNames"
                | "config.kubernetes.io/previousNamespaces"
                | "kustomize.config.k8s.io/needs-hash"
                | "kustomize.config.k8s.io/behavior"
        )
}

/// Removes internal annotations; an empty or null `annotations` field disappears, as in kubectl.
fn strip_internal(obj: &mut Map<String, Value>) {
    if let Some(Value::Object(md)) = obj.get_mut("metadata") {
        let empty = match md.get_mut("annotations") {
            Some(Value::Object(a)) => {
                a.retain(|k, _| !is_internal_annotation(k));
                a.is_empty()
            }
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            md.remove("annotations");
        }
    }
}

pub(crate) struct Reader<'a, 'b> {
    pub ctx: &'a Ctx<'b>,
    pub root: &'a Path,
}

impl SourceReader for Reader<'_, '_> {
    fn read_source(&self, rel: &str) -> Result<Vec<u8>, Error> {
        self.ctx.read_file(self.root, rel)
    }
}

impl Ctx<'_> {
    /// Runs `f`, adding its duration to phase `name` when timings are on.
    pub(crate) fn timed<T>(&self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let Some(t) = &self.timings else { return f() };
        let start = std::time::Instant::now();
        let out = f();
        let d = start.elapsed();
        let mut t = t.borrow_mut();
        match t.iter_mut().find(|e| e.0 == name) {
            Some(e) => {
                e.1 += d;
                e.2 += 1;
            }
            None => t.push((name, d, 1)),
        }
        out
    }

    pub(crate) fn read_file(&self, root: &Path, rel: &str) -> Result<Vec<u8>, Error> {
        let joined = normalize(&root.join(rel));
        let real = self.fs.canonicalize_under(root, &joined).map_err(|e| Error::Io {
            path: joined.clone(),
            source: e,
        })?;
        if self.opts.load_restrictor == LoadRestrictor::RootOnly && !real.starts_with(root) {
            return Err(Error::msg(format!(
                "security; file '{}' is not in or below '{}'",
                real.display(),
                root.display()
            )));
        }
        self.fs.read(&real).map_err(|e| Error::Io {
            path: real.clone(),
            source: e,
        })
    }

    fn load_kustomization(&self, dir: &Path) -> Result<(Kustomization, String), Error> {
        let mut found = Vec::new();
        for n in KUSTOMIZATION_FILE_NAMES {
            if self.fs.is_file(&dir.join(n)) {
                found.push(n);
            }
        }
        if found.is_empty() {
            return Err(Error::msg(format!(
                "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                dir.display()
            )));
        }
        if found.len() > 1 {
            return Err(Error::msg(format!(
                "Found multiple kustomization files under: {}",
                dir.display()
            )));
        }
        let path = dir.join(found[0]);
        let file = path.display().to_string();
        let bytes = self.fs.read(&path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        let text = utf8_text(&bytes);
        let docs = tack_yaml::parse_documents_with(&text, &file, tack_yaml::Schema::Yaml11)?;
        let doc = docs
            .into_iter()
            .map(|d| d.value)
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null);
        Ok((kustomization::decode(&doc, &file)?, file))
    }

    fn parse_resources(&self, bytes: &[u8], file: &str) -> Result<Vec<Resource>, Error> {
        let raw = utf8_text(bytes);
        let text = crate::source_text::strip_final_block(&raw);
        let docs = tack_yaml::parse_documents(&text, file)?;
        let mut out = Vec::new();
        for d in docs {
            match d.value {
                Value::Null => {}
                Value::Object(m) => expand(m, file, &mut out)?,
                other => {
                    return Err(Error::msg(format!(
                        "{file}:{}: expected a map of a resource, got {other}",
                        d.line
                    )));
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn build_kust(
        &mut self,
        dir: &Path,
        acc: &mut Acc,
        as_component: bool,
    ) -> Result<Kustomization, Error> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(Error::msg(format!(
                "cycle detected: {} is already being built",
                dir.display()
            )));
        }
        self.stack.push(dir.to_path_buf());
        let r = self.build_kust_inner(dir, acc, as_component);
        self.stack.pop();
        r
    }

    /// Builds the local directory entries of `resources` on several threads when there are enough of
    /// them: entry i's slot holds its accumulated resources and warnings (or its error), to be merged
    /// in order by the caller exactly as a sequential build would. Empty (everything sequential) when
    /// there are few directories, one core, a custom OpenAPI schema in force, or when a base sets
    /// one (the schema is global and would affect the bases after it).
    fn prebuild_dirs(&mut self, dir: &Path, entries: &[String]) -> Vec<Prebuilt> {
        const MIN_DIRS: usize = 8;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        if threads < 2 || !matches!(self.schema, crate::openapi::Schema::Builtin) {
            return Vec::new();
        }
        let mut dirs: Vec<(usize, PathBuf)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if crate::remote::is_remote(entry) {
                continue;
            }
            let p = normalize(&dir.join(entry));
            if self.fs.is_dir(&p)
                && let Ok(real) = self.fs.canonicalize_under(dir, &p)
            {
                dirs.push((i, real));
            }
        }
        if dirs.len() < MIN_DIRS {
            return Vec::new();
        }
        let (fs, opts, track, timed) = (self.fs, self.opts, self.track, self.timings.is_some());
        let (stack, top) = (&self.stack, &self.top);
        let chunk = dirs.len().div_ceil(threads);
        type Built = (
            usize,
            Result<(Acc, Vec<String>), Error>,
            Vec<crate::PhaseTiming>,
            bool,
        );
        let build_chunk = |part: &[(usize, PathBuf)]| -> Vec<Built> {
            part.iter()
                .map(|(i, real)| {
                    let mut child = Ctx {
                        fs,
                        opts,
                        warnings: Vec::new(),
                        stack: stack.clone(),
                        top: top.clone(),
                        track,
                        schema: crate::openapi::Schema::Builtin,
                        timings: timed.then(Default::default),
                    };
                    let mut sub = Acc::new();
                    let r = child.build_kust(real, &mut sub, false);
                    let custom = !matches!(child.schema, crate::openapi::Schema::Builtin);
                    let timings = child.timings.take().map(|t| t.into_inner()).unwrap_or_default();
                    (*i, r.map(|_| (sub, child.warnings)), timings, custom)
                })
                .collect()
        };
        let results: Vec<Built> = std::thread::scope(|s| {
            let mut parts = dirs.chunks(chunk);
            let first = parts.next().unwrap_or(&[]);
            let handles: Vec<_> = parts.map(|part| s.spawn(move || build_chunk(part))).collect();
            let mut all = build_chunk(first);
            for h in handles {
                match h.join() {
                    Ok(r) => all.extend(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        });
        if results.iter().any(|r| r.3) {
            return Vec::new();
        }
        let mut out: Vec<Prebuilt> = Vec::new();
        out.resize_with(entries.len(), || None);
        for (i, r, timings, _) in results {
            if let Some(t) = &self.timings {
                let mut t = t.borrow_mut();
                for (name, d, n) in timings {
                    match t.iter_mut().find(|e| e.0 == name) {
                        Some(e) => {
                            e.1 += d;
                            e.2 += n;
                        }
                        None => t.push((name, d, n)),
                    }
                }
            }
            out[i] = Some(r);
        }
        out
    }

    fn build_kust_inner(
        &mut self,
        dir: &Path,
        acc: &mut Acc,
        as_component: bool,
    ) -> Result<Kustomization, Error> {
        let (k, kfile) = self.timed("kustomization files", || self.load_kustomization(dir))?;
        if as_component && !k.is_component {
            return Err(Error::msg(format!(
                "{kfile}: expected kind 'Component' for path '{}' but got 'Kustomization'",
                dir.display()
            )));
        }
        // A Component built as the root is built like a kustomization.
        if !as_component && k.is_component && self.stack.len() > 1 {
            return Err(Error::msg(format!(
                "{kfile}: expected kind != 'Component' for path '{}'",
                dir.display()
            )));
        }
        for d in &k.deprecated {
            // kubectl prints them for every kustomization that uses the field.
            self.warnings.push(kustomization::deprecation_warning(d));
        }
        self.accumulate_resources(dir, &k, &kfile, acc)?;
        self.load_configurations(dir, &k, &kfile, acc)?;
        self.run_generators(dir, &k, &kfile, acc)?;
        for c in &k.components {
            let p = normalize(&dir.join(c));
            let real = self.fs.canonicalize(&p).map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?;
            if !self.fs.is_dir(&real) {
                return Err(Error::msg(format!(
                    "{kfile}: component '{c}' must be a directory"
                )));
            }
            self.build_kust(&real, acc, true)?;
        }
        self.run_transformers(dir, &k, &kfile, acc)?;
        crate::vars::declare(acc, &k.vars, &kfile)?;
        Ok(k)
    }

    /// `resources:`: bases (local, remote, possibly built ahead on other threads) and files.
    fn accumulate_resources(
        &mut self,
        dir: &Path,
        k: &Kustomization,
        kfile: &str,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        let mut seen: HashSet<IdKey> =
            self.timed("append", || acc.res.iter().map(|r| id_key(&r.cur_id())).collect());
        let mut prebuilt = self.prebuild_dirs(dir, &k.resources);
        for (i, entry) in k.resources.iter().enumerate() {
            if let Some(built) = prebuilt.get_mut(i).and_then(Option::take) {
                let (sub, warnings) = built?;
                self.warnings.extend(warnings);
                acc.absorb(sub, &mut seen, kfile)?;
                continue;
            }
            if crate::remote::is_remote(entry) {
                let real = self.fetch_remote(kfile, entry)?;
                let mut sub = Acc::new();
                self.build_kust(&real, &mut sub, false)?;
                acc.absorb(sub, &mut seen, kfile)?;
                continue;
            }
            let p = normalize(&dir.join(entry));
            if self.fs.is_dir(&p) {
                let real = self.fs.canonicalize_under(dir, &p).map_err(|e| Error::Io {
                    path: p.clone(),
                    source: e,
                })?;
                let mut sub = Acc::new();
                self.build_kust(&real, &mut sub, false)?;
                acc.absorb(sub, &mut seen, kfile)?;
            } else {
                let bytes = self
                    .timed("resource files: read", || self.read_file(dir, entry))
                    .map_err(|e| match e {
                        // A file outside what the source may read keeps the reason it was refused.
                        Error::Io { ref source, .. }
                            if source.kind() == std::io::ErrorKind::PermissionDenied =>
                        {
                            e
                        }
                        Error::Io { path, .. } => Error::msg(format!(
                            "{kfile}: accumulating resources: '{}' must resolve to a file or a directory",
                            path.display()
                        )),
                        other => other,
                    })?;
                let file = p.display().to_string();
                let mut rs = self.timed("resource files: parse", || self.parse_resources(&bytes, &file))?;
                let origin = format!("path: {}\n", relative(&self.top, &p));
                for r in rs.iter_mut() {
                    r.origin = Some(origin.clone());
                }
                self.timed("append", || append(&mut acc.res, &mut seen, rs, &file))?;
            }
        }
        Ok(())
    }

    /// `configurations:`, `crds:` and `openapi:`.
    fn load_configurations(
        &mut self,
        dir: &Path,
        k: &Kustomization,
        kfile: &str,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        for c in &k.configurations {
            let bytes = self.read_file(dir, c)?;
            let v = tack_yaml::parse_one(&utf8_text(&bytes), c)?;
            Arc::make_mut(&mut acc.config).merge_config(&v)?;
        }
        for c in &k.crds {
            let bytes = self.read_file(dir, c)?;
            let v = tack_yaml::parse_one(&utf8_text(&bytes), c)?;
            crate::crds::crd_config(&v, Arc::make_mut(&mut acc.config))?;
        }
        if let Some(o) = &k.openapi {
            if let Some(p) = o.get("path").and_then(|p| p.as_str()) {
                let b = self.read_file(dir, p)?;
                let v = tack_yaml::parse_one(&utf8_text(&b), p)?;
                self.schema = crate::openapi::Schema::Custom(v);
            } else if let Some(v) = o.get("version").and_then(|v| v.as_str()) {
                if v != "v1.21.2" {
                    return Err(Error::msg(format!(
                        "{kfile}: openapi version {v:?} is not built in (only v1.21.2)"
                    )));
                }
                // A built-in version replaces a custom schema a base declared.
                self.schema = crate::openapi::Schema::Builtin;
            }
        }
        Ok(())
    }

    /// `configMapGenerator:`, `secretGenerator:` and `generators:`.
    fn run_generators(&self, dir: &Path, k: &Kustomization, kfile: &str, acc: &mut Acc) -> Result<(), Error> {
        let reader = Reader { ctx: self, root: dir };
        for (list, secret) in [(&k.config_map_generator, false), (&k.secret_generator, true)] {
            let (field, kind) = if secret {
                ("secretGenerator", "SecretGenerator")
            } else {
                ("configMapGenerator", "ConfigMapGenerator")
            };
            for g in list {
                let opts = generators::merge_options(k.generator_options.as_ref(), g.options.as_ref());
                let (obj, needs_hash) = generators::generate(g, secret, &opts, &reader)
                    .map_err(|e| Error::msg(format!("{kfile}: {field} {}: {e}", g.name)))?;
                let mut r = Resource::new(obj);
                r.needs_hash = needs_hash;
                r.origin = Some(configured_by(&relative(&self.top, Path::new(kfile)), kind));
                merge_generated(&mut acc.res, r, &g.behavior, kfile)?;
            }
        }
        for chart in &k.helm_charts {
            self.inflate_helm_chart(dir, k, kfile, chart, acc)?;
        }
        for g in inline_first(&k.generators) {
            let (docs, rel) = self.plugin_docs(dir, kfile, g)?;
            for doc in docs {
                self.run_generator_plugin(dir, kfile, &rel, &doc, &mut acc.res)?;
            }
        }
        Ok(())
    }

    /// One `helmCharts` entry: planned here ([`crate::helm::plan`]), rendered by the [`crate::HelmInflator`],
    /// parsed as a resource file.
    fn inflate_helm_chart(
        &self,
        dir: &Path,
        k: &Kustomization,
        kfile: &str,
        chart: &crate::helm::HelmChart,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        let Some(inflator) = &self.opts.helm else {
            return Err(Error::msg(format!(
                "{kfile}: helmCharts: {}",
                crate::helm::not_enabled(chart)
            )));
        };
        let read = |p: &Path| -> Result<Vec<u8>, String> {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            self.read_file(dir, &rel.display().to_string())
                .map_err(|e| e.to_string())
        };
        let fail = |e: String| Error::msg(format!("{kfile}: helmCharts {}: {e}", chart.name));
        let plan = crate::helm::plan(chart, &k.helm_globals, dir, &read).map_err(fail)?;
        let text = self
            .timed("helm chart", || inflator.inflate(&plan))
            .map_err(fail)?;
        let origin = configured_by(
            &relative(&self.top, Path::new(kfile)),
            "HelmChartInflationGenerator",
        );
        for mut r in self.parse_resources(text.as_bytes(), &plan.chart_dir.display().to_string())? {
            r.origin = Some(origin.clone());
            merge_generated(&mut acc.res, r, "", kfile)?;
        }
        Ok(())
    }

    /// The transformer fields, in Kustomize's order.
    fn run_transformers(
        &self,
        dir: &Path,
        k: &Kustomization,
        kfile: &str,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        let krel = relative(&self.top, Path::new(kfile));
        self.run_patches(dir, k, kfile, &krel, acc)?;
        if !k.namespace.is_empty() {
            self.tracked(&krel, "NamespaceTransformer", &mut acc.res, |res| {
                transform::namespace(res, &k.namespace)
            })?;
        }
        let np = acc.config.name_prefix.clone();
        if !k.name_prefix.is_empty() {
            self.tracked(&krel, "PrefixTransformer", &mut acc.res, |res| {
                transform::prefix_suffix(res, &k.name_prefix, "", &np)
            })?;
        }
        if !k.name_suffix.is_empty() {
            self.tracked(&krel, "SuffixTransformer", &mut acc.res, |res| {
                transform::prefix_suffix(res, "", &k.name_suffix, &np)
            })?;
        }
        self.run_labels(k, &krel, acc)?;
        for p in &k.patches_json6902 {
            self.tracked(&krel, "PatchJson6902Transformer", &mut acc.res, |res| {
                self.apply_patch(dir, kfile, p, res, false)
            })?;
        }
        if !k.replicas.is_empty() {
            let rs = acc.config.replicas.clone();
            self.tracked(&krel, "ReplicaCountTransformer", &mut acc.res, |res| {
                transform::replicas(res, &k.replicas, &rs)
            })?;
        }
        if !k.images.is_empty() {
            let is = acc.config.images.clone();
            self.tracked(&krel, "ImageTagTransformer", &mut acc.res, |res| {
                transform::images(res, &k.images, &is)
            })?;
        }
        for rep in &k.replacements {
            self.tracked(&krel, "ReplacementTransformer", &mut acc.res, |res| {
                self.replacement(dir, kfile, rep, res)
            })?;
        }
        for t in inline_first(&k.transformers) {
            let (docs, rel) = self.plugin_docs(dir, kfile, t)?;
            for doc in docs {
                self.run_transformer_plugin(dir, kfile, &doc, acc)?;
                if self.track {
                    let entry = crate::plugins::plugin_configured_by(&rel, &doc);
                    for r in acc.res.iter_mut() {
                        r.transformations.push(entry.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// `patchesStrategicMerge:` then `patches:`.
    fn run_patches(
        &self,
        dir: &Path,
        k: &Kustomization,
        kfile: &str,
        krel: &str,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        for p in &k.patches_strategic_merge {
            let is_file = self.fs.is_file(&normalize(&dir.join(p)));
            let entry = if is_file {
                PatchEntry {
                    path: Some(p.clone()),
                    ..Default::default()
                }
            } else {
                PatchEntry {
                    patch: Some(p.clone()),
                    ..Default::default()
                }
            };
            self.tracked(krel, "PatchStrategicMergeTransformer", &mut acc.res, |res| {
                self.apply_patch(dir, kfile, &entry, res, true)
            })?;
        }
        for p in &k.patches {
            self.tracked(krel, "PatchTransformer", &mut acc.res, |res| {
                self.apply_patch(dir, kfile, p, res, false)
            })?;
        }
        Ok(())
    }

    /// `labels:`, `commonLabels:` and `commonAnnotations:`.
    fn run_labels(&self, k: &Kustomization, krel: &str, acc: &mut Acc) -> Result<(), Error> {
        for l in &k.labels {
            let mut specs: Vec<FieldSpec> = if l.include_selectors {
                acc.config.common_labels.clone()
            } else {
                let mut v = Vec::new();
                if l.include_templates {
                    v.extend(acc.config.template_labels.iter().cloned());
                }
                v.push(FieldSpec::new("", "", "", "metadata/labels", true));
                v
            };
            for f in &l.fields {
                specs.push(FieldSpec::from_value(f)?);
            }
            self.tracked(krel, "LabelTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &specs, &l.pairs)
            })?;
        }
        if !k.common_labels.is_empty() || !k.labels.is_empty() {
            // With `labels`, Kustomize also runs the `commonLabels` transformer, empty or not.
            let cl = acc.config.common_labels.clone();
            self.tracked(krel, "LabelTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &cl, &k.common_labels)
            })?;
        }
        if !k.common_annotations.is_empty() {
            let ca = acc.config.common_annotations.clone();
            self.tracked(krel, "AnnotationsTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &ca, &k.common_annotations)
            })?;
        }
        Ok(())
    }

    /// Fetches a remote base and returns its kustomization directory (canonical).
    fn fetch_remote(&self, kfile: &str, entry: &str) -> Result<PathBuf, Error> {
        let spec = crate::remote::parse(entry).map_err(|m| Error::msg(format!("{kfile}: {m}")))?;
        let Some(loader) = &self.opts.remote else {
            return Err(Error::msg(format!(
                "{kfile}: remote resource {entry:?} cannot be loaded: this build has no Git access"
            )));
        };
        let root = loader
            .fetch(&spec)
            .map_err(|m| Error::msg(format!("{kfile}: remote resource {entry:?}: {m}")))?;
        let dir = if spec.path.is_empty() {
            root.clone()
        } else {
            normalize(&root.join(&spec.path))
        };
        let real = self.fs.canonicalize(&dir).map_err(|e| {
            Error::msg(format!(
                "{kfile}: remote resource {entry:?}: '{}' not found in the repository: {e}",
                spec.path
            ))
        })?;
        let root = self.fs.canonicalize(&root).unwrap_or(root);
        if !real.starts_with(&root) {
            return Err(Error::msg(format!(
                "{kfile}: remote resource {entry:?}: '{}' leads outside the repository",
                spec.path
            )));
        }
        if !self.fs.is_dir(&real) {
            return Err(Error::msg(format!(
                "{kfile}: remote resource {entry:?}: '{}' is not a directory in the repository",
                spec.path
            )));
        }
        Ok(real)
    }

    /// Runs a transformer step, recording it on the resources when transformer annotations are
    /// enabled.
    pub(crate) fn tracked(
        &self,
        krel: &str,
        kind: &'static str,
        res: &mut Vec<Resource>,
        f: impl FnOnce(&mut Vec<Resource>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.track {
            return self.timed(kind, || f(res));
        }
        f(res)?;
        // Kustomize records a transformer on every object of the set it ran on, changed or not.
        let entry = configured_by(krel, kind);
        for r in res.iter_mut() {
            r.transformations.push(entry.clone());
        }
        Ok(())
    }
}
