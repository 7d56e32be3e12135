//! `.Capabilities`: the Kubernetes version, API versions and Helm version a chart is rendered for, with
//! `helm template`'s defaults (Kubernetes v1.37.0 and the API groups of Helm v4.3.2's client-go).

use std::rc::Rc;

use tack_gotemplate::{FuncError, Object, Value};

use crate::error::{Error, Result};

/// The API versions `helm template` reports when no cluster is asked (Helm v4.3.2's built-in scheme).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "lifecycle.k8s.io/v1alpha1",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The Kubernetes version `helm template` assumes without `--kube-version`.
pub const DEFAULT_KUBE_VERSION: &str = "v1.37.0";

/// The Helm version templates see.
pub const HELM_VERSION: &str = "v4.3.2";

/// A Kubernetes version as Helm parses `--kube-version` (`common.ParseKubeVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// As given, with a leading `v` (`v1.33.4-gke.1`).
    pub version: String,
    /// `v` and the numeric components only (`v1.33.4`), for constraint checks.
    pub normalized: String,
    /// `.Capabilities.KubeVersion.Major` (`1`).
    pub major: String,
    /// `.Capabilities.KubeVersion.Minor` (`33`: digits only).
    pub minor: String,
}

impl KubeVersion {
    /// Parses a version such as `1.22`, `v1.30.2` or `v1.33.4-gke.1245000` (at least major.minor).
    pub fn parse(s: &str) -> Result<KubeVersion> {
        let bad = || {
            Error::Args(format!(
                "invalid kube version '{s}': could not parse {s:?} as version"
            ))
        };
        let t = s.trim();
        let body = t.strip_prefix('v').unwrap_or(t);
        let numeric_len = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let numeric = body[..numeric_len].trim_end_matches('.');
        let parts: Vec<&str> = numeric.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let nums: Vec<u64> = parts
            .iter()
            .map(|p| p.parse::<u64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let rest = &body[numeric.len()..];
        if !rest.is_empty() && !rest.starts_with(['-', '+']) {
            return Err(bad());
        }
        let version = if t.starts_with('v') {
            t.to_string()
        } else {
            format!("v{t}")
        };
        let normalized = format!(
            "v{}",
            nums.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
        );
        Ok(KubeVersion {
            version,
            normalized,
            major: nums[0].to_string(),
            minor: nums[1].to_string(),
        })
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        KubeVersion {
            version: DEFAULT_KUBE_VERSION.into(),
            normalized: DEFAULT_KUBE_VERSION.into(),
            major: "1".into(),
            minor: "37".into(),
        }
    }
}

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// `.Capabilities.KubeVersion`.
    pub kube_version: KubeVersion,
    /// `.Capabilities.APIVersions`: Helm's built-in list plus `--api-versions`.
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// `helm template`'s capabilities with `--kube-version` and `--api-versions` applied.
    pub fn new(kube_version: Option<KubeVersion>, extra_api_versions: &[String]) -> Capabilities {
        let mut api_versions: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        api_versions.extend(extra_api_versions.iter().cloned());
        Capabilities {
            kube_version: kube_version.unwrap_or_default(),
            api_versions,
        }
    }

    /// `.Capabilities` as a template value.
    pub(crate) fn to_value(&self) -> Value {
        Value::Object(Rc::new(CapsObject(self.clone())))
    }
}

struct CapsObject(Capabilities);

impl Object for CapsObject {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(KubeObject(self.0.kube_version.clone())))),
            "APIVersions" => Some(Value::Object(Rc::new(VersionSet(self.0.api_versions.clone())))),
            "HelmVersion" => Some(Value::Object(Rc::new(BuildInfo))),
            _ => None,
        }
    }
    fn display(&self) -> String {
        let k = &self.0.kube_version;
        format!(
            "&{{{{{} {} {} {}}} [{}] {}}}",
            k.version,
            k.normalized,
            k.major,
            k.minor,
            self.0.api_versions.join(" "),
            BuildInfo.display()
        )
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = tack_gotemplate::Map::new();
        for f in ["KubeVersion", "APIVersions", "HelmVersion"] {
            if let Some(Value::Object(o)) = self.field(f) {
                m.insert(f.to_string(), o.to_data().unwrap_or_default());
            }
        }
        Some(Value::map(m))
    }
}

struct KubeObject(KubeVersion);

impl Object for KubeObject {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn kind(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::string(self.0.version.as_str())),
            "Major" => Some(Value::string(self.0.major.as_str())),
            "Minor" => Some(Value::string(self.0.minor.as_str())),
            "String" => Some(Value::string(self.0.normalized.as_str())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        self.0.normalized.clone()
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = tack_gotemplate::Map::new();
        m.insert("version".into(), Value::string(self.0.version.as_str()));
        m.insert("major".into(), Value::string(self.0.major.as_str()));
        m.insert("minor".into(), Value::string(self.0.minor.as_str()));
        Some(Value::map(m))
    }
}

struct VersionSet(Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        match name {
            "Has" => Some(match args {
                [Value::String(s)] => Ok(Value::Bool(self.0.iter().any(|v| v == s.as_ref()))),
                _ => Err(FuncError::new(
                    "wrong number or type of args for Has: want 1 string",
                )),
            }),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::list(
            self.0.iter().map(|s| Value::string(s.as_str())).collect(),
        ))
    }
}

struct BuildInfo;

impl Object for BuildInfo {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn kind(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::string(HELM_VERSION)),
            "GitCommit" => Some(Value::string("")),
            "GitTreeState" => Some(Value::string("clean")),
            "GoVersion" => Some(Value::string("go1.26.8")),
            "KubeClientVersion" => Some(Value::string("v1.37")),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{{{HELM_VERSION}  clean go1.26.8 v1.37}}")
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = tack_gotemplate::Map::new();
        m.insert("version".into(), Value::string(HELM_VERSION));
        m.insert("git_tree_state".into(), Value::string("clean"));
        m.insert("go_version".into(), Value::string("go1.26.8"));
        m.insert("kube_client_version".into(), Value::string("v1.37"));
        Some(Value::map(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_versions_as_helm() {
        let k = KubeVersion::parse("1.22").expect("valid");
        assert_eq!(
            (
                k.version.as_str(),
                k.normalized.as_str(),
                k.major.as_str(),
                k.minor.as_str()
            ),
            ("v1.22", "v1.22", "1", "22")
        );
        let k = KubeVersion::parse("v1.33.4-gke.1245000").expect("valid");
        assert_eq!(k.normalized, "v1.33.4");
        assert!(KubeVersion::parse("1").is_err());
        assert!(KubeVersion::parse("abc").is_err());
    }
}
