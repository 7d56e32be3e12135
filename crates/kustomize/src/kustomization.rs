//! The kustomization file: strict decoding of every v5.5.0 field.

use serde_json::{Map, Value};

use crate::Error;

/// All fields a kustomization may carry (Kustomize v5.5.0 `types.Kustomization`).
pub const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// A decoded kustomization. Lists keep file order.
#[derive(Debug, Default, Clone)]
pub struct Kustomization {
    pub is_component: bool,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<LabelEntry>,
    pub common_annotations: Vec<(String, String)>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<PatchEntry>,
    pub patches: Vec<PatchEntry>,
    pub images: Vec<Image>,
    pub replacements: Vec<Value>,
    pub replicas: Vec<(String, i64)>,
    pub vars: Vec<Value>,
    pub sort_options: Option<Value>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub openapi: Option<Map<String, Value>>,
    pub build_metadata: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    /// `helmCharts`, in file order.
    pub helm_charts: Vec<crate::helm::HelmChart>,
    /// `helmGlobals`.
    pub helm_globals: crate::helm::HelmGlobals,
    /// Deprecated fields used, for warnings.
    pub deprecated: Vec<&'static str>,
}

#[derive(Debug, Default, Clone)]
pub struct LabelEntry {
    pub pairs: Vec<(String, String)>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<Value>,
}

#[derive(Debug, Default, Clone)]
pub struct PatchEntry {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Map<String, Value>>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

#[derive(Debug, Default, Clone)]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

#[derive(Debug, Default, Clone)]
pub struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

#[derive(Debug, Default, Clone)]
pub struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub type_: String,
    pub options: Option<GeneratorOptions>,
}

pub(crate) struct Dec<'a> {
    pub file: &'a str,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Dec<'_> {
    fn err(&self, msg: String) -> Error {
        Error::Kustomization {
            file: self.file.to_string(),
            message: msg,
        }
    }

    fn string(&self, v: &Value, field: &str) -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type string",
                type_name(other)
            ))),
        }
    }

    fn bool(&self, v: &Value, field: &str) -> Result<bool, Error> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type bool",
                type_name(other)
            ))),
        }
    }

    fn strings(&self, v: &Value, field: &str) -> Result<Vec<String>, Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => a.iter().map(|x| self.string(x, field)).collect(),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type []string",
                type_name(other)
            ))),
        }
    }

    fn string_map(&self, v: &Value, field: &str) -> Result<Vec<(String, String)>, Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Object(m) => m.iter().map(|(k, x)| Ok((k.clone(), self.string(x, field)?))).collect(),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type map[string]string",
                type_name(other)
            ))),
        }
    }

    fn list<'v>(&self, v: &'v Value, field: &str, ty: &str) -> Result<Vec<&'v Value>, Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => Ok(a.iter().collect()),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
                type_name(other)
            ))),
        }
    }

    fn object<'v>(&self, v: &'v Value, field: &str, ty: &str) -> Result<&'v Map<String, Value>, Error> {
        match v {
            Value::Object(m) => Ok(m),
            other => Err(self.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
                type_name(other)
            ))),
        }
    }

    /// Maps field names to their canonical spelling like Go's JSON decoder (exact match first,
    /// then case-insensitive); unknown fields are errors.
    fn canon(&self, m: &Map<String, Value>, known: &[&str]) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        for (k, v) in m {
            let name = if known.contains(&k.as_str()) {
                k.as_str()
            } else {
                match known.iter().find(|f| f.eq_ignore_ascii_case(k)) {
                    Some(f) => f,
                    None => {
                        return Err(self.err(format!("invalid Kustomization: json: unknown field \"{k}\"")));
                    }
                }
            };
            out.insert(name.to_string(), v.clone());
        }
        Ok(out)
    }

    fn helm_chart(&self, v: &Value, field: &str) -> Result<crate::helm::HelmChart, Error> {
        let m = self.canon(
            self.object(v, field, "types.HelmChart")?,
            crate::helm::CHART_FIELDS,
        )?;
        let null = Value::Null;
        let get = |k: &str| m.get(k).unwrap_or(&null);
        let values_inline = match get("valuesInline") {
            Value::Null => Map::new(),
            other => self
                .object(other, "valuesInline", "map[string]interface {}")?
                .clone(),
        };
        Ok(crate::helm::HelmChart {
            name: self.string(get("name"), "name")?,
            version: self.string(get("version"), "version")?,
            repo: self.string(get("repo"), "repo")?,
            release_name: self.string(get("releaseName"), "releaseName")?,
            namespace: self.string(get("namespace"), "namespace")?,
            additional_values_files: self.strings(get("additionalValuesFiles"), "additionalValuesFiles")?,
            values_file: self.string(get("valuesFile"), "valuesFile")?,
            values_inline,
            values_merge: self.string(get("valuesMerge"), "valuesMerge")?,
            include_crds: self.bool(get("includeCRDs"), "includeCRDs")?,
            skip_hooks: self.bool(get("skipHooks"), "skipHooks")?,
            skip_tests: self.bool(get("skipTests"), "skipTests")?,
            api_versions: self.strings(get("apiVersions"), "apiVersions")?,
            kube_version: self.string(get("kubeVersion"), "kubeVersion")?,
            name_template: self.string(get("nameTemplate"), "nameTemplate")?,
        })
    }

    fn gen_options(&self, v: &Value, field: &str) -> Result<GeneratorOptions, Error> {
        let m = self.object(v, field, "types.GeneratorOptions")?;
        let m = &self.canon(
            m,
            &["labels", "annotations", "disableNameSuffixHash", "immutable"],
        )?;
        let mut o = GeneratorOptions::default();
        for (k, v) in m {
            match k.as_str() {
                "labels" => o.labels = self.string_map(v, &format!("{field}.labels"))?,
                "annotations" => o.annotations = self.string_map(v, &format!("{field}.annotations"))?,
                "disableNameSuffixHash" => o.disable_name_suffix_hash = Some(self.bool(v, field)?),
                "immutable" => o.immutable = Some(self.bool(v, field)?),
                _ => {}
            }
        }
        Ok(o)
    }

    fn generator(&self, v: &Value, field: &str, secret: bool) -> Result<GeneratorArgs, Error> {
        let ty = if secret { "SecretArgs" } else { "ConfigMapArgs" };
        let m = self.object(v, field, &format!("types.{ty}"))?;
        let mut known = vec![
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
        ];
        if secret {
            known.push("type");
        }
        let m = &self.canon(m, &known)?;
        let mut g = GeneratorArgs::default();
        let f = |n: &str| format!("{ty}.{field}.{n}");
        for (k, v) in m {
            match k.as_str() {
                "name" => g.name = self.string(v, &f("name"))?,
                "namespace" => g.namespace = self.string(v, &f("namespace"))?,
                "behavior" => g.behavior = self.string(v, &f("behavior"))?,
                "literals" => g.literals = self.strings(v, &f("literals"))?,
                "files" => g.files = self.strings(v, &f("files"))?,
                "envs" => g.envs.extend(self.strings(v, &f("envs"))?),
                "env" => {
                    let e = self.string(v, &f("env"))?;
                    if !e.is_empty() {
                        g.envs.insert(0, e);
                    }
                }
                "type" => g.type_ = self.string(v, &f("type"))?,
                "options" => g.options = Some(self.gen_options(v, &f("options"))?),
                _ => {}
            }
        }
        Ok(g)
    }

    fn patch(&self, v: &Value, field: &str) -> Result<PatchEntry, Error> {
        let m = self.object(v, field, "types.Patch")?;
        let m = &self.canon(m, &["path", "patch", "target", "options"])?;
        let mut p = PatchEntry::default();
        for (k, v) in m {
            match k.as_str() {
                "path" => {
                    p.path = Some(self.string(v, &format!("Patch.{field}.path"))?).filter(|s| !s.is_empty())
                }
                "patch" => {
                    p.patch = Some(self.string(v, &format!("Patch.{field}.patch"))?).filter(|s| !s.is_empty())
                }
                "target" if !v.is_null() => {
                    let t = self.object(v, &format!("Patch.{field}.target"), "types.Selector")?;
                    let t = &self.canon(
                        t,
                        &[
                            "group",
                            "version",
                            "kind",
                            "name",
                            "namespace",
                            "labelSelector",
                            "annotationSelector",
                        ],
                    )?;
                    p.target = Some(t.clone());
                }
                "options" => {
                    if let Value::Object(o) = v {
                        for (ok, ov) in o {
                            match ok.as_str() {
                                "allowNameChange" => p.allow_name_change = self.bool(ov, field)?,
                                "allowKindChange" => p.allow_kind_change = self.bool(ov, field)?,
                                _ => {
                                    return Err(self.err(format!(
                                        "invalid Kustomization: json: unknown field \"{ok}\""
                                    )));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// Decodes a kustomization document.
pub fn decode(doc: &Value, file: &str) -> Result<Kustomization, Error> {
    let d = Dec { file };
    let m = match doc {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(d.err(format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go value of type types.Kustomization",
                type_name(other)
            )));
        }
    };
    let m = d.canon(&m, KNOWN_FIELDS)?;
    let mut k = Kustomization::default();
    let mut bases: Vec<String> = Vec::new();
    let kind = m
        .get("kind")
        .map(|v| d.string(v, "Kustomization.kind"))
        .transpose()?
        .unwrap_or_default();
    match kind.as_str() {
        "" | "Kustomization" => {}
        "Component" => k.is_component = true,
        _ => return Err(d.err("kind should be Kustomization or Component".into())),
    }
    if m.is_empty() {
        return Err(d.err("kustomization.yaml is empty".into()));
    }
    if let Some(v) = m.get("apiVersion") {
        let av = d.string(v, "Kustomization.apiVersion")?;
        let (want, what) = if k.is_component {
            ("kustomize.config.k8s.io/v1alpha1", "Component")
        } else {
            ("kustomize.config.k8s.io/v1beta1", "Kustomization")
        };
        if !av.is_empty() && av != want {
            return Err(d.err(format!("apiVersion for {what} should be {want}")));
        }
    }
    if let Some(Value::Object(o)) = m.get("openapi")
        && o.contains_key("path")
        && o.contains_key("version")
    {
        return Err(d.err("builtin version and custom schema provided, cannot use both".into()));
    }
    for (key, v) in &m {
        if !d.transformer_field(&mut k, key, v)? {
            d.other_field(&mut k, &mut bases, key, v)?;
        }
    }
    k.resources.extend(bases);
    Ok(k)
}

impl Dec<'_> {
    /// Decodes a transformer field (names, labels, annotations, patches, images, replacements,
    /// replicas, vars, sort options); false when `key` is not one.
    fn transformer_field(&self, k: &mut Kustomization, key: &str, v: &Value) -> Result<bool, Error> {
        let d = self;
        let fld = format!("Kustomization.{key}");
        match key {
            "namePrefix" => k.name_prefix = d.string(v, &fld)?,
            "nameSuffix" => k.name_suffix = d.string(v, &fld)?,
            "namespace" => k.namespace = d.string(v, &fld)?,
            "commonLabels" => {
                k.common_labels = d.string_map(v, &fld)?;
                k.deprecated.push("commonLabels");
            }
            "commonAnnotations" => k.common_annotations = d.string_map(v, &fld)?,
            "labels" => {
                for item in d.list(v, &fld, "[]types.Label")? {
                    let lm = d.object(item, &fld, "types.Label")?;
                    let lm = &d.canon(lm, &["pairs", "includeSelectors", "includeTemplates", "fields"])?;
                    let mut e = LabelEntry::default();
                    if let Some(p) = lm.get("pairs") {
                        e.pairs = d.string_map(p, "Label.labels.pairs")?;
                    }
                    if let Some(p) = lm.get("includeSelectors") {
                        e.include_selectors = d.bool(p, "Label.labels.includeSelectors")?;
                    }
                    if let Some(p) = lm.get("includeTemplates") {
                        e.include_templates = d.bool(p, "Label.labels.includeTemplates")?;
                    }
                    if let Some(p) = lm.get("fields") {
                        e.fields = d
                            .list(p, "Label.labels.fields", "[]types.FieldSpec")?
                            .into_iter()
                            .cloned()
                            .collect();
                    }
                    k.labels.push(e);
                }
            }
            "patchesStrategicMerge" => {
                k.patches_strategic_merge = d.strings(v, &fld)?;
                k.deprecated.push("patchesStrategicMerge");
            }
            "patchesJson6902" => {
                for item in d.list(v, &fld, "[]types.Patch")? {
                    k.patches_json6902.push(d.patch(item, key)?);
                }
                k.deprecated.push("patchesJson6902");
            }
            "patches" => {
                for item in d.list(v, &fld, "[]types.Patch")? {
                    k.patches.push(d.patch(item, key)?);
                }
            }
            "images" | "imageTags" => {
                if key == "imageTags" {
                    k.deprecated.push("imageTags");
                }
                for item in d.list(v, &fld, "[]types.Image")? {
                    let im = d.object(item, &fld, "types.Image")?;
                    let im = &d.canon(im, &["name", "newName", "newTag", "digest", "tagSuffix"])?;
                    let g = |n: &str| -> Result<String, Error> {
                        im.get(n)
                            .map(|x| d.string(x, &format!("Image.{key}.{n}")))
                            .transpose()
                            .map(|o| o.unwrap_or_default())
                    };
                    k.images.push(Image {
                        name: g("name")?,
                        new_name: g("newName")?,
                        new_tag: g("newTag")?,
                        digest: g("digest")?,
                        tag_suffix: g("tagSuffix")?,
                    });
                }
            }
            "replacements" => {
                k.replacements = d
                    .list(v, &fld, "[]types.ReplacementField")?
                    .into_iter()
                    .cloned()
                    .collect()
            }
            "replicas" => {
                for item in d.list(v, &fld, "[]types.Replica")? {
                    let rm = d.object(item, &fld, "types.Replica")?;
                    let rm = &d.canon(rm, &["name", "count"])?;
                    let name = rm
                        .get("name")
                        .map(|x| d.string(x, "Replica.replicas.name"))
                        .transpose()?
                        .unwrap_or_default();
                    let count = match rm.get("count") {
                    None | Some(Value::Null) => 0,
                    Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                        d.err("invalid Kustomization: json: cannot unmarshal number into Go struct field Replica.replicas.count of type int64".into())
                    })?,
                    Some(other) => {
                        return Err(d.err(format!(
                            "invalid Kustomization: json: cannot unmarshal {} into Go struct field Replica.replicas.count of type int64",
                            type_name(other)
                        )));
                    }
                };
                    k.replicas.push((name, count));
                }
            }
            "vars" => {
                k.vars = d.list(v, &fld, "[]types.Var")?.into_iter().cloned().collect();
                k.deprecated.push("vars");
            }
            "sortOptions" if !v.is_null() => {
                k.sort_options = Some(v.clone());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Decodes the other fields (resources, components, generators, configurations, plugins).
    fn other_field(
        &self,
        k: &mut Kustomization,
        bases: &mut Vec<String>,
        key: &str,
        v: &Value,
    ) -> Result<(), Error> {
        let d = self;
        let fld = format!("Kustomization.{key}");
        match key {
            "resources" => k.resources.extend(d.strings(v, &fld)?),
            "bases" => {
                bases.extend(d.strings(v, &fld)?);
                k.deprecated.push("bases");
            }
            "components" => k.components = d.strings(v, &fld)?,
            "crds" => k.crds = d.strings(v, &fld)?,
            "configMapGenerator" => {
                for item in d.list(v, &fld, "[]types.ConfigMapArgs")? {
                    k.config_map_generator.push(d.generator(item, key, false)?);
                }
            }
            "secretGenerator" => {
                for item in d.list(v, &fld, "[]types.SecretArgs")? {
                    k.secret_generator.push(d.generator(item, key, true)?);
                }
            }
            "generatorOptions" if !v.is_null() => {
                k.generator_options = Some(d.gen_options(v, "generatorOptions")?);
            }
            "configurations" => k.configurations = d.strings(v, &fld)?,
            "openapi" if !v.is_null() => {
                k.openapi = Some(d.object(v, &fld, "map[string]string")?.clone());
            }
            "buildMetadata" => k.build_metadata = d.strings(v, &fld)?,
            "helmCharts" => {
                for item in d.list(v, &fld, "[]types.HelmChart")? {
                    k.helm_charts.push(d.helm_chart(item, &fld)?);
                }
            }
            "helmGlobals" if !v.is_null() => {
                let m = d.canon(
                    d.object(v, &fld, "types.HelmGlobals")?,
                    &["chartHome", "configHome"],
                )?;
                k.helm_globals = crate::helm::HelmGlobals {
                    chart_home: d.string(m.get("chartHome").unwrap_or(&Value::Null), "chartHome")?,
                    config_home: d.string(m.get("configHome").unwrap_or(&Value::Null), "configHome")?,
                };
            }
            "helmChartInflationGenerator" => {
                let empty = match v {
                    Value::Null => true,
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if !empty {
                    return Err(d.err(format!(
                        "field '{key}' is not supported by tack (helm chart inflation)"
                    )));
                }
            }
            "generators" => k.generators = d.strings(v, &fld)?,
            "transformers" => k.transformers = d.strings(v, &fld)?,
            "validators" => {
                let list = d.strings(v, &fld)?;
                if !list.is_empty() {
                    return Err(d.err(format!(
                        "field '{key}' is not supported by tack (Kustomize plugins and KRM functions)"
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The deprecation warning kubectl prints for a field.
pub fn deprecation_warning(field: &str) -> String {
    let (old, new, extra) = match field {
        "bases" => ("bases", "resources", ""),
        "commonLabels" => ("commonLabels", "labels", ""),
        "imageTags" => ("imageTags", "images", ""),
        "patchesJson6902" => ("patchesJson6902", "patches", ""),
        "patchesStrategicMerge" => ("patchesStrategicMerge", "patches", ""),
        "vars" => ("vars", "replacements", " [EXPERIMENTAL]"),
        other => (other, "", ""),
    };
    format!(
        "# Warning: '{old}' is deprecated. Please use '{new}' instead.{extra} Run 'kustomize edit fix' to update your Kustomization automatically."
    )
}

/// Decodes the arguments of a `ConfigMapGenerator` / `SecretGenerator` plugin config.
pub(crate) fn decode_generator_plugin(v: &Value, file: &str, secret: bool) -> Result<GeneratorArgs, Error> {
    let d = Dec { file };
    let mut m = v.as_object().cloned().unwrap_or_default();
    let md = m.remove("metadata").unwrap_or(Value::Null);
    m.remove("apiVersion");
    m.remove("kind");
    // The top-level `name`/`namespace` win over metadata's; unknown fields are ignored.
    for key in ["name", "namespace"] {
        if !m.contains_key(key)
            && let Some(n) = md.get(key)
        {
            m.insert(key.into(), n.clone());
        }
    }
    let mut known = vec![
        "name",
        "namespace",
        "behavior",
        "literals",
        "files",
        "envs",
        "env",
        "options",
    ];
    if secret {
        known.push("type");
    }
    m.retain(|k, _| known.iter().any(|f| f.eq_ignore_ascii_case(k)));
    d.generator(
        &Value::Object(m),
        if secret {
            "secretGenerator"
        } else {
            "configMapGenerator"
        },
        secret,
    )
}

/// Decodes a `PatchTransformer` plugin config.
pub(crate) fn decode_patch_plugin(v: &Value, file: &str) -> Result<PatchEntry, Error> {
    let d = Dec { file };
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in ["apiVersion", "kind", "metadata"] {
        m.remove(k);
    }
    d.patch(&Value::Object(m), "patches")
}
