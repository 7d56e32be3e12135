//! `Chart.yaml` (and a v1 chart's `requirements.yaml`): Helm's `chart.Metadata` and `chart.Dependency`,
//! with Helm's validation.

use serde_json::Value as Json;
use tack_gotemplate::{Map, Value};

use crate::error::{Error, Result};

/// A chart maintainer.
#[derive(Debug, Clone, Default)]
pub struct Maintainer {
    /// The maintainer's name.
    pub name: String,
    /// Their e-mail address (may be empty).
    pub email: String,
    /// Their URL (may be empty).
    pub url: String,
}

/// One entry of `dependencies`.
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    /// The dependency chart's name.
    pub name: String,
    /// A version or semver range (`~1.2`) the subchart must match.
    pub version: String,
    /// Where the chart comes from (a repository URL, `oci://…` or `file://…`).
    pub repository: String,
    /// A comma-separated list of values paths; the first that holds a bool enables or disables the subchart.
    pub condition: String,
    /// Tags that enable or disable the subchart through the values' `tags`.
    pub tags: Vec<String>,
    /// Whether the subchart is rendered, as `condition` and `tags` decide (Helm's `Enabled`).
    pub enabled: bool,
    /// Each item a string (`exports.X`) or a map `{child, parent}`.
    pub import_values: Vec<Value>,
    /// The name the subchart is rendered under instead of `name` (empty: none).
    pub alias: String,
}

/// The chart's metadata.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// The chart's name.
    pub name: String,
    /// The project's home page URL.
    pub home: String,
    /// URLs of the project's source code.
    pub sources: Vec<String>,
    /// The chart's SemVer 2 version.
    pub version: String,
    /// A one-sentence description.
    pub description: String,
    /// Keywords about the project.
    pub keywords: Vec<String>,
    /// The chart's maintainers.
    pub maintainers: Vec<Maintainer>,
    /// The URL of an icon for the chart.
    pub icon: String,
    /// The chart API version: `v2` (Helm 3), or `v1` for a chart with `requirements.yaml`.
    pub api_version: String,
    /// Unused by Helm 3 in the chart's own metadata (kept for `.Chart.Condition`).
    pub condition: String,
    /// Unused by Helm 3 in the chart's own metadata (kept for `.Chart.Tags`).
    pub tags: String,
    /// The version of the application the chart deploys (`.Chart.AppVersion`).
    pub app_version: String,
    /// Whether the chart is deprecated.
    pub deprecated: bool,
    /// `annotations`: key and value.
    pub annotations: Vec<(String, String)>,
    /// A semver range of the Kubernetes versions the chart supports, checked against `--kube-version`.
    pub kube_version: String,
    /// The subcharts the chart declares, from `Chart.yaml` (or `requirements.yaml` for a v1 chart).
    pub dependencies: Vec<Dependency>,
    /// `type`: `application` or `library` (empty: application).
    pub chart_type: String,
}

fn field_err(file: &str, field: &str, want: &str, got: &Json) -> Error {
    let kind = match got {
        Json::Number(_) => "number",
        Json::Bool(_) => "bool",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
        Json::String(_) => "string",
        Json::Null => "null",
    };
    Error::Load(format!(
        "cannot load {file}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go struct field {field} of type {want}"
    ))
}

/// A string field: sigs.k8s.io/yaml turns a YAML number or bool into its text for a string field
/// (`appVersion: 1.10` is `"1.1"`, as Go formats the float).
fn string_of(file: &str, field: &str, v: Option<&Json>) -> Result<String> {
    match v {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(Json::Bool(b)) => Ok(b.to_string()),
        Some(Json::Number(n)) => Ok(match n.as_i64() {
            Some(i) => i.to_string(),
            None => tack_yaml::go_format_g(n.as_f64().unwrap_or(0.0)),
        }),
        Some(other) => Err(field_err(file, field, "string", other)),
    }
}

fn strings_of(file: &str, field: &str, v: Option<&Json>) -> Result<Vec<String>> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items.iter().map(|i| string_of(file, field, Some(i))).collect(),
        Some(other) => Err(field_err(file, field, "[]string", other)),
    }
}

impl Metadata {
    /// Parses `Chart.yaml`.
    pub fn parse(data: &[u8]) -> Result<Metadata> {
        let mut md = Metadata::default();
        md.merge_yaml("Chart.yaml", data)?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
        Ok(md)
    }

    /// Reads the fields of a YAML document into this metadata (`requirements.yaml` adds `dependencies`).
    pub fn merge_yaml(&mut self, file: &str, data: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(data);
        let doc = tack_yaml::parse_documents_with(&text, file, tack_yaml::Schema::Yaml11)
            .map_err(|e| Error::Load(format!("cannot load {file}: error converting YAML to JSON: {e}")))?;
        let Some(first) = doc.into_iter().next() else {
            return Ok(());
        };
        let obj = match first.value {
            Json::Object(o) => o,
            Json::Null => return Ok(()),
            other => return Err(field_err(file, "Metadata", "chart.Metadata", &other)),
        };
        let f = |k: &str| obj.get(k);
        let s = |k: &str, go: &str| string_of(file, &format!("Metadata.{go}"), f(k));
        if f("name").is_some() {
            self.name = s("name", "name")?;
        }
        macro_rules! set_str {
            ($field:ident, $key:literal) => {
                if f($key).is_some() {
                    self.$field = s($key, $key)?;
                }
            };
        }
        set_str!(home, "home");
        set_str!(version, "version");
        set_str!(description, "description");
        set_str!(icon, "icon");
        set_str!(api_version, "apiVersion");
        set_str!(condition, "condition");
        set_str!(tags, "tags");
        set_str!(app_version, "appVersion");
        set_str!(kube_version, "kubeVersion");
        set_str!(chart_type, "type");
        if f("sources").is_some() {
            self.sources = strings_of(file, "Metadata.sources", f("sources"))?;
        }
        if f("keywords").is_some() {
            self.keywords = strings_of(file, "Metadata.keywords", f("keywords"))?;
        }
        match f("deprecated") {
            None | Some(Json::Null) => {}
            Some(Json::Bool(b)) => self.deprecated = *b,
            Some(other) => return Err(field_err(file, "Metadata.deprecated", "bool", other)),
        }
        match f("annotations") {
            None | Some(Json::Null) => {}
            Some(Json::Object(m)) => {
                self.annotations = m
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), string_of(file, "Metadata.annotations", Some(v))?)))
                    .collect::<Result<_>>()?;
            }
            Some(other) => {
                return Err(field_err(
                    file,
                    "Metadata.annotations",
                    "map[string]string",
                    other,
                ));
            }
        }
        match f("maintainers") {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                self.maintainers = items
                    .iter()
                    .map(|m| {
                        let g = |k: &str| string_of(file, &format!("Maintainer.{k}"), m.get(k));
                        Ok(Maintainer {
                            name: g("name")?,
                            email: g("email")?,
                            url: g("url")?,
                        })
                    })
                    .collect::<Result<_>>()?;
            }
            Some(other) => {
                return Err(field_err(
                    file,
                    "Metadata.maintainers",
                    "[]*chart.Maintainer",
                    other,
                ));
            }
        }
        match f("dependencies") {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                self.dependencies = items
                    .iter()
                    .map(|d| parse_dependency(file, d))
                    .collect::<Result<_>>()?;
            }
            Some(other) => {
                return Err(field_err(
                    file,
                    "Metadata.dependencies",
                    "[]*chart.Dependency",
                    other,
                ));
            }
        }
        Ok(())
    }

    /// Helm's `Metadata.Validate`.
    pub fn validate(&self) -> Result<()> {
        let v = |m: String| Err(Error::Load(format!("validation: {m}")));
        if self.api_version.is_empty() {
            return v("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return v("chart.metadata.name is required".into());
        }
        if self.name == "." || self.name == ".." {
            return v(format!("chart.metadata.name {:?} is not allowed", self.name));
        }
        if self.name.contains('/') {
            return v(format!("chart.metadata.name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return v("chart.metadata.version is required".into());
        }
        if crate::semver::Version::parse(&self.version).is_none() {
            return v(format!("chart.metadata.version {:?} is invalid", self.version));
        }
        if !(self.chart_type.is_empty()
            || self.chart_type.eq_ignore_ascii_case("application")
            || self.chart_type.eq_ignore_ascii_case("library"))
        {
            return v("chart.metadata.type must be application or library".into());
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.dependencies {
            if d.name.is_empty() {
                return v("dependency name cannot be empty".into());
            }
            let key = if d.alias.is_empty() { &d.name } else { &d.alias };
            if !seen.insert(key.clone()) {
                return v(format!("more than one dependency with name or alias {key:?}"));
            }
        }
        Ok(())
    }

    /// Whether the chart is a library chart.
    pub fn is_library(&self) -> bool {
        self.chart_type.eq_ignore_ascii_case("library")
    }

    /// `.Chart` as templates see it: a map keyed by the Go field names of `chart.Metadata`.
    pub fn to_template_map(&self, is_root: bool) -> Map {
        let s = |x: &str| Value::string(x);
        let strs = |x: &[String]| Value::list(x.iter().map(|i| s(i)).collect());
        let mut m = Map::new();
        m.insert("Name".into(), s(&self.name));
        m.insert("Home".into(), s(&self.home));
        m.insert("Sources".into(), strs(&self.sources));
        m.insert("Version".into(), s(&self.version));
        m.insert("Description".into(), s(&self.description));
        m.insert("Keywords".into(), strs(&self.keywords));
        let maintainers = self
            .maintainers
            .iter()
            .map(|mt| {
                let mut x = Map::new();
                x.insert("Name".into(), s(&mt.name));
                x.insert("Email".into(), s(&mt.email));
                x.insert("URL".into(), s(&mt.url));
                Value::map(x)
            })
            .collect();
        m.insert("Maintainers".into(), Value::list(maintainers));
        m.insert("Icon".into(), s(&self.icon));
        m.insert("APIVersion".into(), s(&self.api_version));
        m.insert("Condition".into(), s(&self.condition));
        m.insert("Tags".into(), s(&self.tags));
        m.insert("AppVersion".into(), s(&self.app_version));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        let ann = self.annotations.iter().map(|(k, v)| (k.clone(), s(v))).collect();
        m.insert("Annotations".into(), Value::map(ann));
        m.insert("KubeVersion".into(), s(&self.kube_version));
        let deps = self
            .dependencies
            .iter()
            .map(|d| {
                let mut x = Map::new();
                x.insert("Name".into(), s(&d.name));
                x.insert("Version".into(), s(&d.version));
                x.insert("Repository".into(), s(&d.repository));
                x.insert("Condition".into(), s(&d.condition));
                x.insert("Tags".into(), strs(&d.tags));
                x.insert("Enabled".into(), Value::Bool(d.enabled));
                x.insert("ImportValues".into(), Value::list(d.import_values.clone()));
                x.insert("Alias".into(), s(&d.alias));
                Value::map(x)
            })
            .collect();
        m.insert("Dependencies".into(), Value::list(deps));
        m.insert("Type".into(), s(&self.chart_type));
        m.insert("IsRoot".into(), Value::Bool(is_root));
        m
    }
}

fn parse_dependency(file: &str, d: &Json) -> Result<Dependency> {
    let g = |k: &str| string_of(file, &format!("Dependency.{k}"), d.get(k));
    let enabled = match d.get("enabled") {
        Some(Json::Bool(b)) => *b,
        None | Some(Json::Null) => false,
        Some(other) => return Err(field_err(file, "Dependency.enabled", "bool", other)),
    };
    let import_values = match d.get("import-values") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items.iter().map(crate::interop::json_to_value).collect(),
        Some(other) => {
            return Err(field_err(
                file,
                "Dependency.import-values",
                "[]interface {}",
                other,
            ));
        }
    };
    Ok(Dependency {
        name: g("name")?,
        version: g("version")?,
        repository: g("repository")?,
        condition: g("condition")?,
        tags: strings_of(file, "Dependency.tags", d.get("tags"))?,
        enabled,
        import_values,
        alias: g("alias")?,
    })
}
