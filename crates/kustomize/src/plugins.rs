//! Built-in plugin configs listed in `generators:` and `transformers:` (`apiVersion: builtin`).

use std::path::Path;

use serde_json::Value;

use crate::Error;
use crate::accumulator::{Acc, merge_generated};
use crate::build::{Ctx, Reader};
use crate::fs::normalize;
use crate::generators;
use crate::kustomization::{self, PatchEntry};
use crate::resource::{FieldSpec, Resource};
use crate::transform;

impl Ctx<'_> {
    /// The plugin configs named by a `generators:`/`transformers:` entry (a file, inline YAML, or
    /// a kustomization directory whose resources are the configs), with the file they come from
    /// relative to the top kustomization (for origin annotations).
    pub(crate) fn plugin_docs(
        &self,
        dir: &Path,
        kfile: &str,
        entry: &str,
    ) -> Result<(Vec<Value>, String), Error> {
        let (text, origin) = if entry.contains('\n') {
            (entry.to_string(), format!("{kfile} (inline plugin config)"))
        } else {
            let p = normalize(&dir.join(entry));
            if self.fs.is_dir(&p) {
                let docs = self.plugin_kustomization(dir, &p)?;
                return Ok((docs, crate::build::relative(&self.top, &p)));
            }
            let b = self.read_file(dir, entry)?;
            (
                crate::source_text::utf8_text(&b).into_owned(),
                p.display().to_string(),
            )
        };
        let rel = if entry.contains('\n') {
            crate::build::relative(&self.top, Path::new(kfile))
        } else {
            crate::build::relative(&self.top, &normalize(&dir.join(entry)))
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
        Ok((out, rel))
    }

    /// The plugin configs a kustomization directory builds to.
    fn plugin_kustomization(&self, dir: &Path, p: &Path) -> Result<Vec<Value>, Error> {
        let real = self.fs.canonicalize_under(dir, p).map_err(|e| Error::Io {
            path: p.to_path_buf(),
            source: e,
        })?;
        let mut child = Ctx {
            fs: self.fs,
            opts: self.opts,
            warnings: Vec::new(),
            stack: self.stack.clone(),
            top: self.top.clone(),
            track: false,
            schema: crate::openapi::Schema::Builtin,
            timings: None,
        };
        let mut sub = Acc::new();
        child.build_kust(&real, &mut sub, false)?;
        Ok(sub.res.into_iter().map(|r| Value::Object(r.obj)).collect())
    }

    pub(crate) fn run_generator_plugin(
        &self,
        dir: &Path,
        kfile: &str,
        origin_rel: &str,
        doc: &Value,
        res: &mut Vec<Resource>,
    ) -> Result<(), Error> {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let secret = match kind {
            "ConfigMapGenerator" => false,
            "SecretGenerator" => true,
            "IAMPolicyGenerator" => {
                let mut r = Resource::new(iam_service_account(doc, kfile)?);
                r.origin = Some(plugin_configured_by(origin_rel, doc));
                return merge_generated(res, r, "", kfile);
            }
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
        r.origin = Some(plugin_configured_by(origin_rel, doc));
        merge_generated(res, r, &args.behavior, kfile)
    }

    pub(crate) fn run_transformer_plugin(
        &self,
        dir: &Path,
        kfile: &str,
        doc: &Value,
        acc: &mut Acc,
    ) -> Result<(), Error> {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        match kind {
            "PatchTransformer" | "PatchStrategicMergeTransformer" | "PatchJson6902Transformer" => {
                for (e, smp_only) in patch_entries(kind, doc, kfile)? {
                    self.apply_patch(dir, kfile, &e, &mut acc.res, smp_only)?;
                }
                Ok(())
            }
            "ReplacementTransformer" => {
                if let Some(Value::Array(reps)) = doc.get("replacements") {
                    for r in reps {
                        self.replacement(dir, kfile, r, &mut acc.res)?;
                    }
                }
                Ok(())
            }
            other => run_field_transformer(other, doc, kfile, acc),
        }
    }
}

/// The patches a patch transformer config holds, each with whether it may only be a strategic
/// merge patch.
fn patch_entries(kind: &str, doc: &Value, kfile: &str) -> Result<Vec<(PatchEntry, bool)>, Error> {
    let s = |key: &str| doc.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let mut out = Vec::new();
    if kind == "PatchTransformer" {
        out.push((kustomization::decode_patch_plugin(doc, kfile)?, false));
    } else if kind == "PatchStrategicMergeTransformer" {
        if let Some(Value::Array(paths)) = doc.get("paths") {
            for p in paths.iter().filter_map(|p| p.as_str()) {
                let e = PatchEntry {
                    path: Some(p.to_string()),
                    ..Default::default()
                };
                out.push((e, true));
            }
        }
        let inline = s("patches");
        if !inline.is_empty() {
            let e = PatchEntry {
                patch: Some(inline),
                ..Default::default()
            };
            out.push((e, true));
        }
    } else {
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
        out.push((e, false));
    }
    Ok(out)
}

/// The built-in transformers that act on field specs (prefix/suffix, labels, annotations,
/// namespace, images, replicas).
fn run_field_transformer(kind: &str, doc: &Value, kfile: &str, acc: &mut Acc) -> Result<(), Error> {
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
        other => Err(Error::msg(format!(
            "{kfile}: transformer plugin kind {other:?} is not supported by tack"
        ))),
    }
}

/// The ServiceAccount of an `IAMPolicyGenerator` config: a Kubernetes ServiceAccount bound to a Google Cloud
/// service account by the `iam.gke.io/gcp-service-account` annotation (GKE Workload Identity), as kustomize
/// generates it. `cloud: gke` is the only provider kustomize knows.
fn iam_service_account(doc: &Value, kfile: &str) -> Result<serde_json::Map<String, Value>, Error> {
    let text = |path: &str| doc.pointer(path).and_then(Value::as_str).unwrap_or("");
    let cloud = text("/cloud");
    if cloud != "gke" {
        return Err(Error::msg(format!(
            "{kfile}: IAMPolicyGenerator: cloud provider {cloud} not supported yet"
        )));
    }
    let mut metadata = serde_json::json!({
        "annotations": {
            "iam.gke.io/gcp-service-account": format!(
                "{}@{}.iam.gserviceaccount.com",
                text("/serviceAccount/name"),
                text("/serviceAccount/projectId")
            )
        },
        "name": text("/kubernetesService/name"),
    });
    let namespace = text("/kubernetesService/namespace");
    if !namespace.is_empty() {
        metadata["namespace"] = Value::from(namespace);
    }
    let obj = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata});
    match obj {
        Value::Object(map) => Ok(map),
        _ => Err(Error::msg(format!("{kfile}: IAMPolicyGenerator: internal shape"))),
    }
}

/// The `configuredIn`/`configuredBy` record of a plugin config for origin and transformer annotations: the
/// config's kind, name and, when it has one, namespace.
pub(crate) fn plugin_configured_by(rel: &str, doc: &Value) -> String {
    let text = |path: &str| doc.pointer(path).and_then(Value::as_str).unwrap_or("");
    let mut entry = format!(
        "{}  name: {}\n",
        crate::build::configured_by(rel, text("/kind")),
        text("/metadata/name")
    );
    let namespace = text("/metadata/namespace");
    if !namespace.is_empty() {
        entry.push_str(&format!("  namespace: {namespace}\n"));
    }
    entry
}
