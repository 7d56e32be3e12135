//! The build pipeline: load a kustomization, accumulate resources depth-first, run generators,
//! components and transformers in Kustomize's order, then the top-level steps (hash suffixes,
//! name references, vars, local-config filtering, sorting).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use crate::config::TransformerConfig;
use crate::fs::{FileSystem, normalize};
use crate::generators::{self, SourceReader};
use crate::kustomization::{self, Kustomization, PatchEntry};
use crate::resource::{FieldSpec, Gvk, ResId, Resource};
use crate::selector::Selector;
use crate::{Error, KUSTOMIZATION_FILE_NAMES, LoadRestrictor, Options, Output, transform};

struct Ctx<'a> {
    fs: &'a dyn FileSystem,
    opts: &'a Options,
    warnings: Vec<String>,
    stack: Vec<PathBuf>,
    /// The top kustomization's directory (origin paths are relative to it).
    top: PathBuf,
    /// Whether transformer annotations are being recorded.
    track: bool,
    /// Schema for strategic merge (`openapi:`).
    schema: crate::openapi::Schema,
    /// Phase timings, when requested.
    timings: Option<std::cell::RefCell<Vec<crate::PhaseTiming>>>,
}

/// `to` relative to the directory `from` (both absolute and normalised).
fn relative(from: &Path, to: &Path) -> String {
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

fn configured_by(kfile_rel: &str, kind: &str) -> String {
    format!("configuredIn: {kfile_rel}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n")
}

/// Kustomize's built-in transformer configuration, built once.
static BUILTIN: LazyLock<Arc<TransformerConfig>> = LazyLock::new(|| Arc::new(TransformerConfig::builtin()));

/// Accumulated state of one kustomization.
/// A base built ahead on another thread: its accumulated resources and warnings, or its error.
type Prebuilt = Option<Result<(Acc, Vec<String>), Error>>;

struct Acc {
    res: Vec<Resource>,
    config: Arc<TransformerConfig>,
    vars: Vec<Value>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            res: Vec::new(),
            config: Arc::clone(&BUILTIN),
            vars: Vec::new(),
        }
    }
}

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

    // Hash suffixes.
    for r in acc.res.iter_mut() {
        if r.needs_hash {
            let h = generators::hash(&r.obj);
            r.store_prev_id();
            let n = format!("{}-{h}", r.name());
            r.set_name(&n);
        }
    }
    ctx.timed("name references", || {
        crate::nameref::fix(&mut acc.res, &acc.config.name_reference)
    })?;
    resolve_vars(&mut acc)?;
    acc.res.retain(|r| {
        r.annotations()
            .get("config.kubernetes.io/local-config")
            .and_then(|v| v.as_str())
            != Some("true")
    });
    ctx.timed("sort", || sort(&mut acc.res, k.sort_options.as_ref(), &dir))?;
    if k.build_metadata.iter().any(|b| b == "managedByLabel") {
        for r in acc.res.iter_mut() {
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
    let origins = k.build_metadata.iter().any(|b| b == "originAnnotations");
    for r in acc.res.iter_mut() {
        strip_internal(&mut r.obj);
        let mut add = Vec::new();
        if origins && let Some(o) = &r.origin {
            add.push(("config.kubernetes.io/origin", o.clone()));
        }
        if ctx.track && !r.transformations.is_empty() {
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

/// File text (invalid UTF-8 sequences replaced).
fn utf8_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
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

fn sort(res: &mut [Resource], so: Option<&Value>, dir: &Path) -> Result<(), Error> {
    let Some(so) = so else {
        let (f, l) = transform::default_order();
        transform::legacy_sort(res, &f, &l);
        return Ok(());
    };
    let order = so.get("order").and_then(|v| v.as_str()).unwrap_or("");
    let lso = so.get("legacySortOptions");
    match order {
        "fifo" => {
            if lso.is_some_and(|v| !v.is_null()) {
                return Err(Error::msg(format!(
                    "{}: the field 'sortOptions.legacySortOptions' is set but 'sortOptions.order' is not 'legacy'",
                    dir.display()
                )));
            }
            Ok(())
        }
        "legacy" | "" => {
            let (mut f, mut l) = transform::default_order();
            if let Some(lso) = lso {
                let list = |k: &str| -> Vec<String> {
                    lso.get(k)
                        .and_then(|v| v.as_array())
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                        .unwrap_or_default()
                };
                let of = list("orderFirst");
                let ol = list("orderLast");
                if !of.is_empty() || !ol.is_empty() {
                    f = of;
                    l = ol;
                }
            }
            transform::legacy_sort(res, &f, &l);
            Ok(())
        }
        other => Err(Error::msg(format!(
            "{}: unknown sortOptions.order {other:?}",
            dir.display()
        ))),
    }
}

/// A hashable form of a resource id with Kustomize's equality (namespace "" = "default",
/// ignored for cluster-scoped kinds).
pub(crate) fn id_key(id: &ResId) -> IdKey {
    let ns = if id.gvk.is_cluster_scoped() {
        String::new()
    } else if id.namespace.is_empty() {
        "default".to_string()
    } else {
        id.namespace.clone()
    };
    (
        id.gvk.group.clone(),
        id.gvk.version.clone(),
        id.gvk.kind.clone(),
        id.name.clone(),
        ns,
    )
}

type IdKey = (String, String, String, String, String);

fn append(
    acc: &mut Vec<Resource>,
    seen: &mut HashSet<IdKey>,
    new: Vec<Resource>,
    origin: &str,
) -> Result<(), Error> {
    for r in new {
        let id = r.cur_id();
        if !seen.insert(id_key(&id)) {
            return Err(Error::msg(format!(
                "{origin}: may not add resource with an already registered id: {}.{}.{}/{}.{}",
                id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
            )));
        }
        acc.push(r);
    }
    Ok(())
}

struct Reader<'a, 'b> {
    ctx: &'a Ctx<'b>,
    root: &'a Path,
}

impl SourceReader for Reader<'_, '_> {
    fn read_source(&self, rel: &str) -> Result<Vec<u8>, Error> {
        self.ctx.read_file(self.root, rel)
    }
}

impl Ctx<'_> {
    /// Runs `f`, adding its duration to phase `name` when timings are on.
    fn timed<T>(&self, name: &'static str, f: impl FnOnce() -> T) -> T {
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

    fn read_file(&self, root: &Path, rel: &str) -> Result<Vec<u8>, Error> {
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
        let text = utf8_text(bytes);
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

    fn build_kust(&mut self, dir: &Path, acc: &mut Acc, as_component: bool) -> Result<Kustomization, Error> {
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
        if !as_component && k.is_component {
            return Err(Error::msg(format!(
                "{kfile}: expected kind != 'Component' for path '{}'",
                dir.display()
            )));
        }
        for d in &k.deprecated {
            // kubectl prints them for every kustomization that uses the field.
            self.warnings.push(kustomization::deprecation_warning(d));
        }

        // Resources.
        let mut seen: HashSet<IdKey> =
            self.timed("append", || acc.res.iter().map(|r| id_key(&r.cur_id())).collect());
        let mut prebuilt = self.prebuild_dirs(dir, &k.resources);
        for (i, entry) in k.resources.iter().enumerate() {
            if let Some(built) = prebuilt.get_mut(i).and_then(Option::take) {
                let (sub, warnings) = built?;
                self.warnings.extend(warnings);
                append(&mut acc.res, &mut seen, sub.res, &kfile)?;
                if !Arc::ptr_eq(&sub.config, &BUILTIN) {
                    merge_config(Arc::make_mut(&mut acc.config), &sub.config);
                }
                acc.vars.extend(sub.vars);
                continue;
            }
            if crate::remote::is_remote(entry) {
                let real = self.fetch_remote(&kfile, entry)?;
                let mut sub = Acc::new();
                self.build_kust(&real, &mut sub, false)?;
                append(&mut acc.res, &mut seen, sub.res, &kfile)?;
                if !Arc::ptr_eq(&sub.config, &BUILTIN) {
                    merge_config(Arc::make_mut(&mut acc.config), &sub.config);
                }
                acc.vars.extend(sub.vars);
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
                append(&mut acc.res, &mut seen, sub.res, &kfile)?;
                if !Arc::ptr_eq(&sub.config, &BUILTIN) {
                    merge_config(Arc::make_mut(&mut acc.config), &sub.config);
                }
                acc.vars.extend(sub.vars);
            } else {
                let bytes = self
                    .timed("resource files: read", || self.read_file(dir, entry))
                    .map_err(|e| match e {
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

        // Configurations and CRDs.
        for c in &k.configurations {
            let bytes = self.read_file(dir, c)?;
            let v = tack_yaml::parse_one(&utf8_text(&bytes), c)?;
            Arc::make_mut(&mut acc.config).merge_config(&v)?;
        }
        for c in &k.crds {
            let bytes = self.read_file(dir, c)?;
            let v = tack_yaml::parse_one(&utf8_text(&bytes), c)?;
            crd_config(&v, Arc::make_mut(&mut acc.config))?;
        }
        if let Some(o) = &k.openapi {
            if let Some(p) = o.get("path").and_then(|p| p.as_str()) {
                let b = self.read_file(dir, p)?;
                let v = tack_yaml::parse_one(&utf8_text(&b), p)?;
                self.schema = crate::openapi::Schema::Custom(v);
            } else if let Some(v) = o.get("version").and_then(|v| v.as_str())
                && v != "v1.21.2"
            {
                return Err(Error::msg(format!(
                    "{kfile}: openapi version {v:?} is not built in (only v1.21.2)"
                )));
            }
        }

        // Generators.
        let reader = Reader { ctx: self, root: dir };
        for (list, secret) in [(&k.config_map_generator, false), (&k.secret_generator, true)] {
            for g in list {
                let opts = generators::merge_options(k.generator_options.as_ref(), g.options.as_ref());
                let (obj, needs_hash) = generators::generate(g, secret, &opts, &reader).map_err(|e| {
                    Error::msg(format!(
                        "{kfile}: {} {}: {e}",
                        if secret {
                            "secretGenerator"
                        } else {
                            "configMapGenerator"
                        },
                        g.name
                    ))
                })?;
                let mut r = Resource::new(obj);
                r.needs_hash = needs_hash;
                let kind = if secret {
                    "SecretGenerator"
                } else {
                    "ConfigMapGenerator"
                };
                r.origin = Some(configured_by(&relative(&self.top, Path::new(&kfile)), kind));
                merge_generated(&mut acc.res, r, &g.behavior, &kfile)?;
            }
        }

        for g in &k.generators {
            for doc in self.plugin_docs(dir, &kfile, g)? {
                self.run_generator_plugin(dir, &kfile, &doc, &mut acc.res)?;
            }
        }

        // Components.
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

        // Transformers.
        let mut smp_entries: Vec<PatchEntry> = Vec::new();
        for p in &k.patches_strategic_merge {
            let is_file = self.fs.is_file(&normalize(&dir.join(p)));
            smp_entries.push(if is_file {
                PatchEntry {
                    path: Some(p.clone()),
                    ..Default::default()
                }
            } else {
                PatchEntry {
                    patch: Some(p.clone()),
                    ..Default::default()
                }
            });
        }
        let krel = relative(&self.top, Path::new(&kfile));
        for p in &smp_entries {
            self.tracked(&krel, "PatchStrategicMergeTransformer", &mut acc.res, |res| {
                self.apply_patch(dir, &kfile, p, res, true)
            })?;
        }
        for p in &k.patches {
            self.tracked(&krel, "PatchTransformer", &mut acc.res, |res| {
                self.apply_patch(dir, &kfile, p, res, false)
            })?;
        }
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
        // Labels.
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
            self.tracked(&krel, "LabelTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &specs, &l.pairs)
            })?;
        }
        if !k.common_labels.is_empty() {
            let cl = acc.config.common_labels.clone();
            self.tracked(&krel, "LabelTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &cl, &k.common_labels)
            })?;
        }
        if !k.common_annotations.is_empty() {
            let ca = acc.config.common_annotations.clone();
            self.tracked(&krel, "AnnotationsTransformer", &mut acc.res, |res| {
                transform::add_pairs(res, &ca, &k.common_annotations)
            })?;
        }
        for p in &k.patches_json6902 {
            self.tracked(&krel, "PatchJson6902Transformer", &mut acc.res, |res| {
                self.apply_patch(dir, &kfile, p, res, false)
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
                self.replacement(dir, &kfile, rep, res)
            })?;
        }
        for t in &k.transformers {
            for doc in self.plugin_docs(dir, &kfile, t)? {
                self.run_transformer_plugin(dir, &kfile, &doc, acc)?;
            }
        }
        for v in &k.vars {
            let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if acc
                .vars
                .iter()
                .any(|x| x.get("name").and_then(|n| n.as_str()) == Some(name))
            {
                return Err(Error::msg(format!("{kfile}: var '{name}' already encountered")));
            }
            acc.vars.push(v.clone());
        }
        Ok(k)
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

    /// Runs a transformer step, recording it on the resources it changed when transformer
    /// annotations are enabled.
    fn tracked(
        &self,
        krel: &str,
        kind: &'static str,
        res: &mut Vec<Resource>,
        f: impl FnOnce(&mut Vec<Resource>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.track {
            return self.timed(kind, || f(res));
        }
        let before: Vec<Map<String, Value>> = res.iter().map(|r| r.obj.clone()).collect();
        f(res)?;
        if before.len() == res.len() {
            let entry = configured_by(krel, kind);
            for (r, b) in res.iter_mut().zip(before.iter()) {
                if &r.obj != b {
                    r.transformations.push(entry.clone());
                }
            }
        }
        Ok(())
    }

    /// The plugin configs named by a `generators:`/`transformers:` entry (a file or inline YAML).
    fn plugin_docs(&self, dir: &Path, kfile: &str, entry: &str) -> Result<Vec<Value>, Error> {
        let (text, origin) = if entry.contains('\n') {
            (entry.to_string(), format!("{kfile} (inline plugin config)"))
        } else {
            let p = normalize(&dir.join(entry));
            if self.fs.is_dir(&p) {
                return Err(Error::msg(format!(
                    "{kfile}: plugin configs from a kustomization directory ('{entry}') are not supported by tack"
                )));
            }
            let b = self.read_file(dir, entry)?;
            (utf8_text(&b).into_owned(), p.display().to_string())
        };
        let docs = tack_yaml::parse_documents(&text, &origin)?;
        let mut out = Vec::new();
        for d in docs {
            if d.value.is_null() {
                continue;
            }
            let annotations = d.value.get("metadata").and_then(|m| m.get("annotations"));
            if annotations.is_some_and(|a| a.get("config.kubernetes.io/function").is_some()) {
                return Err(Error::msg(format!(
                    "{origin}: KRM function plugins (config.kubernetes.io/function) are not supported by tack"
                )));
            }
            out.push(d.value);
        }
        Ok(out)
    }

    fn run_generator_plugin(
        &self,
        dir: &Path,
        kfile: &str,
        doc: &Value,
        res: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let secret = match kind {
            "ConfigMapGenerator" => false,
            "SecretGenerator" => true,
            other => {
                return Err(Error::msg(format!(
                    "{kfile}: generator plugin kind {other:?} is not supported by tack"
                )));
            }
        };
        let args = kustomization::decode_generator_plugin(doc, kfile, secret)?;
        let opts = generators::merge_options(None, args.options.as_ref());
        let reader = Reader { ctx: self, root: dir };
        let (obj, needs_hash) = generators::generate(&args, secret, &opts, &reader)?;
        let mut r = Resource::new(obj);
        r.needs_hash = needs_hash;
        merge_generated(res, r, &args.behavior, kfile)
    }

    fn run_transformer_plugin(
        &self,
        dir: &Path,
        kfile: &str,
        doc: &Value,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let specs = |key: &str| -> Result<Vec<FieldSpec>, Error> {
            match doc.get(key) {
                Some(Value::Array(a)) => a.iter().map(FieldSpec::from_value).collect(),
                _ => Ok(Vec::new()),
            }
        };
        let string_map = |key: &str| -> Vec<(String, String)> {
            doc.get(key)
                .and_then(|m| m.as_object())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let s = |key: &str| doc.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let or_default = |v: Vec<FieldSpec>, d: &[FieldSpec]| if v.is_empty() { d.to_vec() } else { v };
        match kind {
            "PatchTransformer" => {
                let p = kustomization::decode_patch_plugin(doc, kfile)?;
                self.apply_patch(dir, kfile, &p, &mut acc.res, false)
            }
            "PatchStrategicMergeTransformer" => {
                let mut entries = Vec::new();
                if let Some(Value::Array(paths)) = doc.get("paths") {
                    for p in paths.iter().filter_map(|p| p.as_str()) {
                        entries.push(PatchEntry {
                            path: Some(p.to_string()),
                            ..Default::default()
                        });
                    }
                }
                let inline = s("patches");
                if !inline.is_empty() {
                    entries.push(PatchEntry {
                        patch: Some(inline),
                        ..Default::default()
                    });
                }
                for e in &entries {
                    self.apply_patch(dir, kfile, e, &mut acc.res, true)?;
                }
                Ok(())
            }
            "PatchJson6902Transformer" => {
                let mut e = PatchEntry {
                    target: doc.get("target").and_then(|t| t.as_object()).cloned(),
                    ..Default::default()
                };
                let path = s("path");
                if !path.is_empty() {
                    e.path = Some(path);
                } else {
                    e.patch = Some(s("jsonOp"));
                }
                self.apply_patch(dir, kfile, &e, &mut acc.res, false)
            }
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let fs = or_default(specs("fieldSpecs")?, &acc.config.name_prefix);
                transform::prefix_suffix(&mut acc.res, &s("prefix"), "", &fs)?;
                transform::prefix_suffix(&mut acc.res, "", &s("suffix"), &fs)
            }
            "LabelTransformer" => {
                let fs = or_default(specs("fieldSpecs")?, &acc.config.common_labels);
                transform::add_pairs(&mut acc.res, &fs, &string_map("labels"))
            }
            "AnnotationsTransformer" => {
                let fs = or_default(specs("fieldSpecs")?, &acc.config.common_annotations);
                transform::add_pairs(&mut acc.res, &fs, &string_map("annotations"))
            }
            "NamespaceTransformer" => {
                let ns = doc
                    .get("metadata")
                    .and_then(|m| m.get("namespace"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("");
                let unset_only = doc.get("unsetOnly").and_then(|v| v.as_bool()).unwrap_or(false);
                let subjects = doc
                    .get("setRoleBindingSubjects")
                    .and_then(|v| v.as_str())
                    .unwrap_or("defaultOnly");
                transform::namespace_with(&mut acc.res, ns, unset_only, subjects)
            }
            "ImageTagTransformer" => {
                let it = doc.get("imageTag").cloned().unwrap_or(Value::Null);
                let g = |k: &str| it.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let image = crate::kustomization::Image {
                    name: g("name"),
                    new_name: g("newName"),
                    new_tag: g("newTag"),
                    digest: g("digest"),
                    tag_suffix: g("tagSuffix"),
                };
                let fs = or_default(specs("fieldSpecs")?, &acc.config.images);
                transform::images(&mut acc.res, &[image], &fs)
            }
            "ReplicaCountTransformer" => {
                let r = doc.get("replica").cloned().unwrap_or(Value::Null);
                let name = r.get("name").and_then(|v| v.as_str()).unwrap_or("").to_string();
                let count = r.get("count").and_then(|v| v.as_i64()).unwrap_or(0);
                let fs = or_default(specs("fieldSpecs")?, &acc.config.replicas);
                transform::replicas(&mut acc.res, &[(name, count)], &fs)
            }
            "ReplacementTransformer" => {
                if let Some(Value::Array(reps)) = doc.get("replacements") {
                    for r in reps {
                        self.replacement(dir, kfile, r, &mut acc.res)?;
                    }
                }
                Ok(())
            }
            other => Err(Error::msg(format!(
                "{kfile}: transformer plugin kind {other:?} is not supported by tack"
            ))),
        }
    }

    fn patch_text(&self, dir: &Path, kfile: &str, p: &PatchEntry) -> Result<(String, String), Error> {
        match (&p.path, &p.patch) {
            (Some(_), Some(_)) => Err(Error::msg(format!(
                "{kfile}: unable to parse SM or JSON patch from [{}]: patch and path can't be set at the same time",
                p.path.clone().unwrap_or_default()
            ))),
            (Some(path), None) => {
                let b = self.read_file(dir, path)?;
                Ok((
                    utf8_text(&b).into_owned(),
                    normalize(&dir.join(path)).display().to_string(),
                ))
            }
            (None, Some(t)) => Ok((t.clone(), format!("{kfile} (inline patch)"))),
            (None, None) => Err(Error::msg(format!("{kfile}: a patch needs 'path' or 'patch'"))),
        }
    }

    fn apply_patch(
        &self,
        dir: &Path,
        kfile: &str,
        p: &PatchEntry,
        res: &mut Vec<Resource>,
        smp_only: bool,
    ) -> Result<(), Error> {
        let (text, origin) = self.patch_text(dir, kfile, p)?;
        let docs = tack_yaml::parse_documents(&text, &origin)?;
        let docs: Vec<Value> = docs
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        let is_json = docs.len() == 1 && docs[0].is_array();
        if is_json && !smp_only {
            let Some(t) = &p.target else {
                return Err(Error::msg(format!(
                    "{origin}: unable to apply JSON patch: missing target"
                )));
            };
            let sel = Selector::from_map(t)?;
            for r in res.iter_mut() {
                if !sel.matches(r) {
                    continue;
                }
                let old = r.cur_id();
                // Kustomize keeps internal annotations on every object while it builds, so
                // `metadata.annotations` always exists for JSON patches.
                let added_annotations = r
                    .obj
                    .get("metadata")
                    .is_none_or(|m| m.get("annotations").is_none());
                if added_annotations {
                    r.metadata_mut()
                        .insert("annotations".into(), Value::Object(Map::new()));
                }
                let mut v = Value::Object(std::mem::take(&mut r.obj));
                let out = crate::jsonpatch::apply(&mut v, &docs[0]);
                if let Value::Object(m) = v {
                    r.obj = m;
                }
                if added_annotations
                    && let Some(Value::Object(md)) = r.obj.get_mut("metadata")
                    && md
                        .get("annotations")
                        .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
                {
                    md.remove("annotations");
                }
                out.map_err(|e| {
                    Error::msg(format!(
                        "{origin}: unable to apply JSON patch to {}: {e}",
                        old.name
                    ))
                })?;
                if r.cur_id() != old && r.prev_ids.last() != Some(&old) {
                    r.prev_ids.push(old);
                }
            }
            return Ok(());
        }
        for d in &docs {
            if !d.is_object() {
                return Err(Error::msg(format!("{origin}: unable to parse SM or JSON patch")));
            }
        }
        if let Some(t) = &p.target {
            if docs.len() != 1 {
                return Err(Error::msg(format!(
                    "{origin}: multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field"
                )));
            }
            let sel = Selector::from_map(t)?;
            let mut i = 0;
            while i < res.len() {
                if sel.matches(&res[i]) {
                    let mut patch = docs[0].clone();
                    // The patch's own name/kind do not matter with a target.
                    if let Value::Object(pm) = &mut patch {
                        let r = &res[i];
                        if !p.allow_kind_change {
                            pm.insert(
                                "apiVersion".into(),
                                r.obj.get("apiVersion").cloned().unwrap_or(Value::Null),
                            );
                            pm.insert("kind".into(), r.obj.get("kind").cloned().unwrap_or(Value::Null));
                        }
                        if let Some(Value::Object(md)) = pm.get_mut("metadata") {
                            if !p.allow_name_change {
                                md.insert("name".into(), Value::String(r.name()));
                            }
                            if md.contains_key("namespace") {
                                let ns = r.namespace();
                                if ns.is_empty() {
                                    md.remove("namespace");
                                } else {
                                    md.insert("namespace".into(), Value::String(ns));
                                }
                            }
                        }
                    }
                    if !apply_smp(res, i, &patch, p, &origin, &self.schema)? {
                        continue;
                    }
                }
                i += 1;
            }
            return Ok(());
        }
        for d in &docs {
            let pr = Resource::new(d.as_object().cloned().unwrap_or_default());
            let pid = pr.cur_id();
            let matches: Vec<usize> = res
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.all_ids().iter().any(|id| {
                        id.gvk.kind == pid.gvk.kind
                            && (pid.gvk.group.is_empty() && pid.gvk.version.is_empty() || id.gvk == pid.gvk)
                            && id.name == pid.name
                            && (pid.namespace.is_empty() && id.namespace.is_empty()
                                || ns_equal(&id.namespace, &pid.namespace)
                                || pid.namespace.is_empty())
                    })
                })
                .map(|(i, _)| i)
                .collect();
            let matches: Vec<usize> = if matches.len() > 1 && !pid.namespace.is_empty() {
                matches
                    .into_iter()
                    .filter(|&i| ns_equal(&res[i].namespace(), &pid.namespace))
                    .collect()
            } else {
                matches
            };
            match matches.len() {
                0 => {
                    return Err(Error::msg(format!(
                        "{origin}: no resource matches strategic merge patch \"{}.{}.{}/{}.{}\": no matches for Id {}.{}.{}/{}.{}; failed to find unique target for patch",
                        pid.gvk.kind,
                        pid.gvk.version,
                        pid.gvk.group,
                        pid.name,
                        pid.namespace,
                        pid.gvk.kind,
                        pid.gvk.version,
                        pid.gvk.group,
                        pid.name,
                        pid.namespace
                    )));
                }
                1 => {
                    apply_smp(res, matches[0], d, p, &origin, &self.schema)?;
                }
                _ => {
                    return Err(Error::msg(format!(
                        "{origin}: multiple matches for Id {}/{}; failed to find unique target for patch",
                        pid.gvk.kind, pid.name
                    )));
                }
            }
        }
        Ok(())
    }

    fn replacement(&self, dir: &Path, kfile: &str, rep: &Value, res: &mut [Resource]) -> Result<(), Error> {
        let reps: Vec<Value> = if let Some(path) = rep.get("path").and_then(|p| p.as_str()) {
            let b = self.read_file(dir, path)?;
            let docs = tack_yaml::parse_documents(&utf8_text(&b), path)?;
            let mut out = Vec::new();
            for d in docs {
                match d.value {
                    Value::Array(a) => out.extend(a),
                    Value::Null => {}
                    other => out.push(other),
                }
            }
            out
        } else {
            vec![rep.clone()]
        };
        for r in &reps {
            crate::build::replace_one(r, res)
                .map_err(|e| Error::msg(format!("{kfile}: replacements: {e}")))?;
        }
        Ok(())
    }
}

fn ns_equal(a: &str, b: &str) -> bool {
    let n = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    n(a) == n(b)
}

/// Applies an SMP to `res[i]`; returns false when the resource was deleted.
fn apply_smp(
    res: &mut Vec<Resource>,
    i: usize,
    patch: &Value,
    p: &PatchEntry,
    origin: &str,
    schema: &crate::openapi::Schema,
) -> Result<bool, Error> {
    let gvk = res[i].gvk();
    let old = res[i].cur_id();
    let cur = Value::Object(std::mem::take(&mut res[i].obj));
    match crate::smp::apply(cur, patch, &gvk, schema).map_err(|e| Error::msg(format!("{origin}: {e}")))? {
        Some(Value::Object(m)) => {
            res[i].obj = m;
            let r = &mut res[i];
            if !p.allow_kind_change {
                let av = if old.gvk.group.is_empty() {
                    old.gvk.version.clone()
                } else {
                    format!("{}/{}", old.gvk.group, old.gvk.version)
                };
                r.obj.insert("apiVersion".into(), Value::String(av));
                r.obj.insert("kind".into(), Value::String(old.gvk.kind.clone()));
            }
            if !p.allow_name_change {
                r.set_name(&old.name);
            }
            if old.namespace.is_empty() {
                if let Some(Value::Object(md)) = r.obj.get_mut("metadata") {
                    md.remove("namespace");
                }
            } else {
                r.set_namespace(&old.namespace);
            }
            check_rename(r, &old, p, origin)?;
            Ok(true)
        }
        Some(_) => Err(Error::msg(format!("{origin}: patch produced a non-object"))),
        None => {
            res.remove(i);
            Ok(false)
        }
    }
}

fn check_rename(r: &mut Resource, old: &ResId, p: &PatchEntry, origin: &str) -> Result<(), Error> {
    let new = r.cur_id();
    if new.name != old.name {
        if !p.allow_name_change {
            return Err(Error::msg(format!(
                "{origin}: name change not allowed: {} -> {}",
                old.name, new.name
            )));
        }
        if r.prev_ids.last() != Some(old) {
            r.prev_ids.push(old.clone());
        }
    }
    if new.gvk.kind != old.gvk.kind {
        if !p.allow_kind_change {
            return Err(Error::msg(format!(
                "{origin}: kind change not allowed: {} -> {}",
                old.gvk.kind, new.gvk.kind
            )));
        }
        if r.prev_ids.last() != Some(old) {
            r.prev_ids.push(old.clone());
        }
    }
    Ok(())
}

fn expand(m: Map<String, Value>, file: &str, out: &mut Vec<Resource>) -> Result<(), Error> {
    let kind = m.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_string();
    if kind.is_empty() {
        return Err(Error::msg(format!(
            "{file}: missing kind in object {}",
            Value::Object(m)
        )));
    }
    if kind == "Kustomization" || kind == "Component" {
        let av = m.get("apiVersion").and_then(|k| k.as_str()).unwrap_or("");
        if av.starts_with("kustomize.config.k8s.io") {
            return Err(Error::msg(format!(
                "{file}: a kustomization file cannot be used as a resource"
            )));
        }
    }
    if kind.ends_with("List")
        && let Some(items) = m.get("items")
    {
        if let Value::Array(items) = items {
            for it in items {
                match it {
                    Value::Object(im) => expand(im.clone(), file, out)?,
                    _ => return Err(Error::msg(format!("{file}: list item is not an object"))),
                }
            }
        }
        return Ok(());
    }
    if m.get("metadata")
        .and_then(|md| md.get("name"))
        .is_none_or(|n| n.as_str().is_none_or(str::is_empty))
    {
        return Err(Error::msg(format!(
            "{file}: missing metadata.name in object of kind {kind}"
        )));
    }
    out.push(Resource::new(m));
    Ok(())
}

fn merge_config(into: &mut TransformerConfig, from: &TransformerConfig) {
    let base: &TransformerConfig = &BUILTIN;
    let extra = |a: &[FieldSpec], b: &[FieldSpec]| -> Vec<FieldSpec> { b[a.len().min(b.len())..].to_vec() };
    into.name_prefix
        .extend(extra(&base.name_prefix, &from.name_prefix));
    into.common_labels
        .extend(extra(&base.common_labels, &from.common_labels));
    into.template_labels
        .extend(extra(&base.template_labels, &from.template_labels));
    into.common_annotations
        .extend(extra(&base.common_annotations, &from.common_annotations));
    into.images.extend(extra(&base.images, &from.images));
    into.replicas.extend(extra(&base.replicas, &from.replicas));
    into.var_reference
        .extend(extra(&base.var_reference, &from.var_reference));
    for nr in &from.name_reference {
        let builtin_len = base
            .name_reference
            .iter()
            .find(|b| b.target == nr.target)
            .map(|b| b.referrers.len())
            .unwrap_or(0);
        let add: Vec<FieldSpec> = nr.referrers[builtin_len.min(nr.referrers.len())..].to_vec();
        if let Some(e) = into.name_reference.iter_mut().find(|n| n.target == nr.target) {
            e.referrers.extend(add);
        } else {
            into.name_reference.push(crate::config::NameRef {
                target: nr.target.clone(),
                referrers: add,
            });
        }
    }
}

/// `crds:` files: OpenAPI definitions whose `x-kubernetes-object-ref-*` extensions add name
/// references.
fn crd_config(v: &Value, cfg: &mut TransformerConfig) -> Result<(), Error> {
    let defs = match v.get("definitions").and_then(|d| d.as_object()) {
        Some(d) => d.clone(),
        None => v.as_object().cloned().unwrap_or_default(),
    };
    let schema = |d: &Value| d.get("Schema").cloned().unwrap_or_else(|| d.clone());
    for (name, def) in defs.iter() {
        let def = schema(def);
        let props = def.get("properties").and_then(|p| p.as_object());
        // Only top-level kinds (with apiVersion/kind/metadata) are referrers.
        if !props.is_some_and(|p| p.contains_key("kind") && p.contains_key("apiVersion")) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name).to_string();
        let referrer = Gvk {
            kind,
            ..Default::default()
        };
        walk_crd_props(&def, &defs, &referrer, &mut Vec::new(), cfg, 0);
    }
    Ok(())
}

fn walk_crd_props(
    def: &Value,
    defs: &Map<String, Value>,
    referrer: &Gvk,
    path: &mut Vec<String>,
    cfg: &mut TransformerConfig,
    depth: usize,
) {
    if depth > 10 {
        return;
    }
    let Some(props) = def.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, prop) in props {
        path.push(name.clone());
        if let Some(kind) = prop.get("x-kubernetes-object-ref-kind").and_then(|k| k.as_str()) {
            let target = Gvk {
                group: String::new(),
                version: prop
                    .get("x-kubernetes-object-ref-api-version")
                    .and_then(|k| k.as_str())
                    .unwrap_or("")
                    .to_string(),
                kind: kind.to_string(),
            };
            let key = prop
                .get("x-kubernetes-object-ref-name-key")
                .and_then(|k| k.as_str())
                .unwrap_or("name");
            let mut p = path.clone();
            p.push(key.to_string());
            let spec = FieldSpec {
                gvk: referrer.clone(),
                path: p,
                create: false,
            };
            if let Some(e) = cfg
                .name_reference
                .iter_mut()
                .find(|n| n.target.kind == target.kind)
            {
                e.referrers.push(spec);
            } else {
                cfg.name_reference.push(crate::config::NameRef {
                    target,
                    referrers: vec![spec],
                });
            }
        }
        if let Some(r) = prop.get("$ref").and_then(|r| r.as_str())
            && let Some(sub) = defs.get(r.trim_start_matches("#/definitions/"))
        {
            let sub = sub.get("Schema").cloned().unwrap_or_else(|| sub.clone());
            walk_crd_props(&sub, defs, referrer, path, cfg, depth + 1);
        }
        path.pop();
    }
}

/// Places a generated object: create, merge or replace.
fn merge_generated(
    res: &mut Vec<Resource>,
    mut r: Resource,
    behavior: &str,
    kfile: &str,
) -> Result<(), Error> {
    let id = r.cur_id();
    let pos = res.iter().position(|e| {
        e.all_ids()
            .iter()
            .any(|x| x.gvk.kind == id.gvk.kind && x.name == id.name && ns_equal(&x.namespace, &id.namespace))
    });
    match behavior {
        "" | "create" => {
            if let Some(i) = pos {
                let _ = i;
                return Err(Error::msg(format!(
                    "{kfile}: may not add resource with an already registered id: {}.{}.{}/{}.{}",
                    id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
                )));
            }
            res.push(r);
            Ok(())
        }
        "merge" | "replace" => {
            let Some(i) = pos else {
                return Err(Error::msg(format!(
                    "{kfile}: id {}.{}.{}/{}.{} does not exist; cannot merge or replace",
                    id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
                )));
            };
            let old = res[i].clone();
            // Metadata: labels and annotations merged, name and identity kept from the old one.
            let merge_map = |key: &str, old: &Resource, new: &mut Resource| {
                let mut m = match key {
                    "labels" => old.labels(),
                    _ => old.annotations(),
                };
                let nm = match key {
                    "labels" => new.labels(),
                    _ => new.annotations(),
                };
                for (k, v) in nm {
                    m.insert(k, v);
                }
                if !m.is_empty() {
                    new.metadata_mut().insert(key.into(), Value::Object(m));
                }
            };
            merge_map("labels", &old, &mut r);
            merge_map("annotations", &old, &mut r);
            r.set_name(&old.name());
            let ns = old.namespace();
            if !ns.is_empty() {
                r.set_namespace(&ns);
            }
            if behavior == "merge" {
                for key in ["data", "binaryData"] {
                    if let Some(Value::Object(od)) = old.obj.get(key) {
                        let mut m = od.clone();
                        if let Some(Value::Object(nd)) = r.obj.get(key) {
                            for (k, v) in nd {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        r.obj.insert(key.into(), Value::Object(m));
                    }
                }
                if old.obj.contains_key("type") && r.kind() == "Secret" {
                    // the new type wins (it is always set on generated secrets)
                }
            }
            r.prev_ids = old.prev_ids.clone();
            r.prefixes = old.prefixes.clone();
            r.suffixes = old.suffixes.clone();
            r.needs_hash = r.needs_hash && old.needs_hash;
            res[i] = r;
            Ok(())
        }
        other => Err(Error::msg(format!(
            "{kfile}: unknown generator behavior {other:?}"
        ))),
    }
}

/// Runs one replacement.
pub(crate) fn replace_one(rep: &Value, res: &mut [Resource]) -> Result<(), Error> {
    let src = rep
        .get("source")
        .ok_or_else(|| Error::msg("replacement has no source"))?;
    let s = |k: &str| src.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let mut sel = Map::new();
    for k in ["group", "version", "kind", "name", "namespace"] {
        let v = s(k);
        if !v.is_empty() {
            sel.insert(k.into(), Value::String(regex::escape(&v)));
        }
    }
    let field_path = {
        let f = s("fieldPath");
        if f.is_empty() {
            "metadata.name".to_string()
        } else {
            f
        }
    };
    let selector = Selector::from_map(&sel)?;
    let found: Vec<&Resource> = res.iter().filter(|r| selector.matches(r)).collect();
    if found.len() != 1 {
        return Err(Error::msg(format!(
            "expected a single resource matching the source {src}, found {}",
            found.len()
        )));
    }
    let source_obj = Value::Object(found[0].obj.clone());
    let mut value = get_field(&source_obj, &field_path).ok_or_else(|| {
        Error::msg(format!(
            "fieldPath `{field_path}` is missing for replacement source {src}"
        ))
    })?;
    if let Some(opts) = src.get("options")
        && let (Some(delim), Value::String(sv)) = (opts.get("delimiter").and_then(|d| d.as_str()), &value)
    {
        let idx = opts.get("index").and_then(|i| i.as_i64()).unwrap_or(0);
        let parts: Vec<&str> = sv.split(delim).collect();
        if idx < 0 || idx as usize >= parts.len() {
            return Err(Error::msg(format!(
                "options.index {idx} is out of bounds for value {sv}"
            )));
        }
        value = Value::String(parts[idx as usize].to_string());
    }
    let targets = rep
        .get("targets")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    for t in &targets {
        let select = t
            .get("select")
            .and_then(|x| x.as_object())
            .cloned()
            .unwrap_or_default();
        let mut sel = Map::new();
        for (k, v) in &select {
            if let Value::String(sv) = v {
                let v = if k == "labelSelector" || k == "annotationSelector" {
                    sv.clone()
                } else {
                    regex::escape(sv)
                };
                sel.insert(k.clone(), Value::String(v));
            }
        }
        let selector = Selector::from_map(&sel)?;
        let rejects: Vec<Selector> = t
            .get("reject")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_object())
                    .map(|m| {
                        let mut mm = Map::new();
                        for (k, v) in m {
                            if let Value::String(sv) = v {
                                mm.insert(k.clone(), Value::String(regex::escape(sv)));
                            }
                        }
                        Selector::from_map(&mm)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let paths: Vec<String> = t
            .get("fieldPaths")
            .and_then(|x| x.as_array())
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let topts = t.get("options");
        let create = topts
            .and_then(|o| o.get("create"))
            .and_then(|c| c.as_bool())
            .unwrap_or(false);
        for r in res.iter_mut() {
            if !selector.matches(r) || rejects.iter().any(|rj| rj.matches(r)) {
                continue;
            }
            let mut obj = Value::Object(std::mem::take(&mut r.obj));
            let mut err = None;
            for fp in &paths {
                let mut v = value.clone();
                if let Some(o) = topts
                    && let Some(delim) = o.get("delimiter").and_then(|d| d.as_str())
                {
                    let idx = o.get("index").and_then(|i| i.as_i64()).unwrap_or(0);
                    let cur = get_field(&obj, fp)
                        .and_then(|c| c.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let mut parts: Vec<String> = cur.split(delim).map(str::to_string).collect();
                    let vs = match &v {
                        Value::String(s) => s.clone(),
                        other => tack_yaml::to_yaml(other).trim_end().to_string(),
                    };
                    if idx < 0 {
                        parts.insert(0, vs);
                    } else if idx as usize >= parts.len() {
                        parts.push(vs);
                    } else {
                        parts[idx as usize] = vs;
                    }
                    v = Value::String(parts.join(delim));
                }
                if let Err(e) = set_field(&mut obj, fp, v, create) {
                    err = Some(e);
                    break;
                }
            }
            if let Value::Object(m) = obj {
                r.obj = m;
            }
            if let Some(e) = err {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn split_field_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in p.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth -= 1;
                cur.push(c)
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    // `ports[0]` → `ports`, `[0]`
    let mut norm = Vec::new();
    for seg in out {
        match seg.find('[') {
            Some(i) if i > 0 && seg.ends_with(']') => {
                norm.push(seg[..i].to_string());
                norm.push(seg[i..].to_string());
            }
            _ => norm.push(seg),
        }
    }
    norm
}

fn seg_match<'a>(node: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        if let Ok(i) = inner.parse::<usize>() {
            return node.as_array()?.get(i);
        }
        let (k, v) = inner.split_once('=')?;
        return node
            .as_array()?
            .iter()
            .find(|e| e.get(k).is_some_and(|x| scalar_str(x) == v));
    }
    match node {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn scalar_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn get_field(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj;
    for seg in split_field_path(path) {
        cur = seg_match(cur, &seg)?;
    }
    Some(cur.clone())
}

/// Replaces a target value the way kyaml does: a scalar keeps the target's type, only the text
/// is copied.
fn assign(cur: &mut Value, v: Value) {
    let scalar = |x: &Value| matches!(x, Value::String(_) | Value::Number(_) | Value::Bool(_));
    if scalar(cur) && scalar(&v) {
        let text = match &v {
            Value::String(s) => s.clone(),
            Value::Number(n) => tack_yaml::number_text(n),
            other => other.to_string(),
        };
        *cur = if cur.is_string() {
            Value::String(text)
        } else {
            tack_yaml::resolve_plain(&text)
        };
    } else {
        *cur = v;
    }
}

fn get_mut_segs<'a>(node: &'a mut Value, segs: &[String]) -> Option<&'a mut Value> {
    let mut cur = node;
    for seg in segs {
        if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let Value::Array(a) = cur else { return None };
            cur = match inner.split_once('=') {
                Some((k, val)) => a
                    .iter_mut()
                    .find(|e| e.get(k).is_some_and(|x| scalar_str(x) == val))?,
                None => a.get_mut(inner.parse::<usize>().ok()?)?,
            };
            continue;
        }
        cur = match cur {
            Value::Object(m) => m.get_mut(seg.as_str())?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn set_field(obj: &mut Value, path: &str, v: Value, create: bool) -> Result<(), Error> {
    let segs = split_field_path(path);
    if let Some(star) = segs.iter().position(|s| s == "*") {
        let rest = segs[star + 1..].join(".");
        let node = get_mut_segs(obj, &segs[..star])
            .ok_or_else(|| Error::msg(format!("unable to find field \"{path}\" in replacement target")))?;
        match node {
            Value::Array(items) => {
                for it in items {
                    set_field(it, &rest, v.clone(), create)?;
                }
            }
            Value::Object(m) => {
                for (_, it) in m.iter_mut() {
                    set_field(it, &rest, v.clone(), create)?;
                }
            }
            _ => {}
        }
        return Ok(());
    }
    let mut cur = obj;
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (k, val) = inner
                .split_once('=')
                .ok_or_else(|| Error::msg(format!("invalid path segment {seg}")))?;
            if cur.is_null() && create {
                *cur = Value::Array(Vec::new());
            }
            let Value::Array(a) = cur else {
                return Err(Error::msg(format!("unable to find field {path}")));
            };
            let pos = a
                .iter()
                .position(|e| e.get(k).is_some_and(|x| scalar_str(x) == val));
            let pos = match pos {
                Some(p) => p,
                None if create => {
                    let mut m = Map::new();
                    m.insert(k.to_string(), Value::String(val.to_string()));
                    a.push(Value::Object(m));
                    a.len() - 1
                }
                None => {
                    return Err(Error::msg(format!(
                        "unable to find field {path} in replacement target"
                    )));
                }
            };
            cur = &mut a[pos];
            if last {
                assign(cur, v);
                return Ok(());
            }
            continue;
        }
        match cur {
            Value::Object(m) => {
                if !m.contains_key(seg.as_str()) {
                    if !create {
                        return Err(Error::msg(format!(
                            "unable to find field \"{path}\" in replacement target"
                        )));
                    }
                    let next_is_list = segs
                        .get(i + 1)
                        .is_some_and(|n| n.starts_with('[') || n.parse::<usize>().is_ok());
                    let fresh = if last {
                        Value::Null
                    } else if next_is_list {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                    m.insert(seg.clone(), fresh);
                }
                let Some(next) = m.get_mut(seg.as_str()) else {
                    return Ok(());
                };
                cur = next;
                if last {
                    assign(cur, v);
                    return Ok(());
                }
                if cur.is_null() && create {
                    *cur = Value::Object(Map::new());
                }
            }
            Value::Array(a) => {
                let idx: usize = seg
                    .parse()
                    .map_err(|_| Error::msg(format!("unable to find field {path}")))?;
                let Some(next) = a.get_mut(idx) else {
                    return Err(Error::msg(format!("unable to find field {path}")));
                };
                cur = next;
                if last {
                    assign(cur, v);
                    return Ok(());
                }
            }
            _ => return Err(Error::msg(format!("unable to find field {path}"))),
        }
    }
    Ok(())
}

/// Resolves `vars:` (`$(NAME)` in the allowed fields).
fn resolve_vars(acc: &mut Acc) -> Result<(), Error> {
    if acc.vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for v in &acc.vars {
        let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
        let objref = v.get("objref").cloned().unwrap_or(Value::Null);
        let s = |k: &str| objref.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let kind = s("kind");
        let oname = s("name");
        let api = s("apiVersion");
        let field = v
            .get("fieldref")
            .and_then(|f| f.as_object())
            .and_then(|f| {
                f.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("fieldPath"))
                    .map(|(_, v)| v)
            })
            .and_then(|f| f.as_str())
            .unwrap_or("metadata.name")
            .to_string();
        let found: Vec<&Resource> = acc
            .res
            .iter()
            .filter(|r| {
                r.kind() == kind
                    && r.all_ids().iter().any(|id| id.name == oname)
                    && (api.is_empty() || r.str_at(&["apiVersion"]) == api)
            })
            .collect();
        if found.len() != 1 {
            return Err(Error::msg(format!(
                "var '{name}' cannot be mapped to a field in the set of known resources"
            )));
        }
        let val = get_field(&Value::Object(found[0].obj.clone()), &field).ok_or_else(|| {
            Error::msg(format!(
                "field specified in var '{name}' not found in corresponding resource"
            ))
        })?;
        values.push((name, val));
    }
    let specs = acc.config.var_reference.clone();
    for r in acc.res.iter_mut() {
        let gvk = r.gvk();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
            crate::resource::visit_path(&mut obj, &s.path, false, &mut |n| {
                subst(n, &values);
                Ok(())
            })?;
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
    }
    Ok(())
}

/// Kubernetes `$(VAR)` expansion: `$$` escapes, unknown variables stay as written.
fn expand_vars(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(end) => {
                        let name = &rest[1..end];
                        match lookup(name) {
                            Some(v) => out.push_str(&v),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        end + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or('$');
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

fn subst(n: &mut Value, values: &[(String, Value)]) {
    match n {
        Value::String(s) => {
            if !s.contains('$') {
                return;
            }
            // A field that is exactly one variable takes the variable's value and type.
            if let Some(name) = s.strip_prefix("$(").and_then(|x| x.strip_suffix(')'))
                && let Some((_, v)) = values.iter().find(|(k, _)| k == name)
                && !v.is_string()
                && !name.contains(')')
            {
                *n = v.clone();
                return;
            }
            let lookup = |name: &str| -> Option<String> {
                values.iter().find(|(k, _)| k == name).map(|(_, v)| match v {
                    Value::String(x) => x.clone(),
                    Value::Number(num) => tack_yaml::number_text(num),
                    other => other.to_string(),
                })
            };
            *s = expand_vars(s, &lookup);
        }
        Value::Array(a) => {
            for x in a {
                subst(x, values);
            }
        }
        Value::Object(m) => {
            for (_, x) in m.iter_mut() {
                subst(x, values);
            }
        }
        _ => {}
    }
}
