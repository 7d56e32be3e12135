//! `helmCharts` and `helmGlobals`: charts inflated into resources, as Kustomize's HelmChartInflationGenerator
//! (`kubectl kustomize --enable-helm`) does with `helm template`.
//!
//! This crate decides everything Kustomize decides (where the chart is, which values files, how
//! `valuesInline` merges with the values file per `valuesMerge`, which `helm template` flags) and hands one
//! [`HelmInflation`] per chart to a [`HelmInflator`] ([`crate::Options::helm`]), which renders it (tack's
//! native engine, in `tack-render`) and returns what `helm template` would print. Without an inflator,
//! `helmCharts` is refused as kubectl refuses it without `--enable-helm`. The crate itself stays pure: no
//! network, no process.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// `helmGlobals`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HelmGlobals {
    /// Where charts are, relative to the kustomization (default `charts`).
    pub chart_home: String,
    /// Helm's configuration directory (accepted; tack keeps no Helm configuration).
    pub config_home: String,
}

/// One `helmCharts` entry (Kustomize's `HelmChart`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HelmChart {
    /// `name`: the chart's name (its folder under `chartHome`, or its name in `repo`).
    pub name: String,
    /// `version`: the chart version or constraint to pull from `repo`.
    pub version: String,
    /// `repo`: the chart repository URL (`https://…` or `oci://…`); empty for a chart under `chartHome`.
    pub repo: String,
    /// `releaseName`: `.Release.Name` (empty: `release-name`, as `helm template`).
    pub release_name: String,
    /// `namespace`: `.Release.Namespace` (empty: `default`).
    pub namespace: String,
    /// `additionalValuesFiles`: more values files (relative to the kustomization), applied after the values file and the inline values.
    pub additional_values_files: Vec<String>,
    /// `valuesFile`: a values file replacing the chart's `values.yaml` (empty: the chart's own).
    pub values_file: String,
    /// `valuesInline`: values merged with the values file as `valuesMerge` says.
    pub values_inline: Map<String, Value>,
    /// `override` (default), `merge` or `replace`.
    pub values_merge: String,
    /// `includeCRDs`: whether the chart's `crds/` are rendered too (`helm template --include-crds`).
    pub include_crds: bool,
    /// `skipHooks`: whether hook manifests are left out (`helm template --no-hooks`).
    pub skip_hooks: bool,
    /// `skipTests`: whether test manifests are left out (`helm template --skip-tests`).
    pub skip_tests: bool,
    /// `apiVersions`: extra `.Capabilities.APIVersions` (`helm template --api-versions`).
    pub api_versions: Vec<String>,
    /// `kubeVersion`: `.Capabilities.KubeVersion` (`helm template --kube-version`; empty: Helm's default).
    pub kube_version: String,
    /// `nameTemplate`: refused by [`plan`] when set (tack asks for `releaseName` instead).
    pub name_template: String,
}

/// The fields of a `helmCharts` entry, as Kustomize spells them.
pub(crate) const CHART_FIELDS: &[&str] = &[
    "name",
    "version",
    "repo",
    "releaseName",
    "namespace",
    "additionalValuesFiles",
    "valuesFile",
    "valuesInline",
    "valuesMerge",
    "includeCRDs",
    "skipHooks",
    "skipTests",
    "apiVersions",
    "kubeVersion",
    "nameTemplate",
    "debug",
];

/// One chart to inflate: everything `helm template` needs, decided as Kustomize decides it.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmInflation {
    /// The chart folder: `<chartHome>/<name>`, or `<chartHome>/<name>-<version>/<name>` when both `repo` and
    /// `version` are set (where `helm pull` puts it). It may not exist when `repo` is set.
    pub chart_dir: PathBuf,
    /// The chart's name.
    pub name: String,
    /// Chart repository URL (`https://…` or `oci://…`), for a chart not under `chartHome`.
    pub repo: String,
    /// Version or constraint for `repo`.
    pub version: String,
    /// `.Release.Name` (`release-name` when not given, as `helm template`).
    pub release_name: String,
    /// `--namespace` (`default` when not given, as `helm template`).
    pub namespace: String,
    /// `-f` files, in order, absolute.
    pub value_files: Vec<PathBuf>,
    /// The merged inline values (YAML), passed as the first `-f` in place of the values file when set.
    pub inline_values: Option<String>,
    /// `valuesInline` still to be merged with the chart's own `values.yaml` ([`merged_values`]; `true`:
    /// `override`, `false`: `merge`): the chart comes from `repo` and is not on disk yet, so the inflator
    /// merges once it has fetched it.
    pub pending_merge: Option<(Map<String, Value>, bool)>,
    /// `--api-versions`: extra `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
    /// `--kube-version`: `.Capabilities.KubeVersion` (empty: Helm's default).
    pub kube_version: String,
    /// `--include-crds`: render the chart's `crds/` too.
    pub include_crds: bool,
    /// `--no-hooks`: leave hook manifests out.
    pub skip_hooks: bool,
    /// `--skip-tests`: leave test manifests out.
    pub skip_tests: bool,
}

/// Renders a chart as `helm template` does, or says why it cannot.
pub trait HelmInflator: Send + Sync {
    /// What `helm template` prints for `chart`.
    fn inflate(&self, chart: &HelmInflation) -> Result<String, String>;
}

impl std::fmt::Debug for dyn HelmInflator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HelmInflator")
    }
}

/// The error kubectl gives without `--enable-helm`.
pub(crate) fn not_enabled(chart: &HelmChart) -> String {
    format!(
        "trouble configuring builtin HelmChartInflationGenerator with config: `name: {}`: must specify --enable-helm",
        chart.name
    )
}

/// Deep merge of `src` into `dst`: maps merge key by key; with `overwrite` every other value of `src`
/// replaces `dst`'s (empty values included), without it `src` only fills keys `dst` lacks.
pub fn merge_values(dst: &mut Map<String, Value>, src: &Map<String, Value>, overwrite: bool) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Object(d)), Value::Object(s)) => merge_values(d, s, overwrite),
            (Some(d), _) => {
                if overwrite {
                    *d = v.clone();
                }
            }
            (None, _) => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The values file `text` (named `file` in errors) with `inline` merged in ([`merge_values`]), as YAML.
pub fn merged_values(
    text: &str,
    file: &str,
    inline: &Map<String, Value>,
    overwrite: bool,
) -> Result<String, String> {
    let parsed = tack_yaml::parse_documents(text, file).map_err(|e| e.to_string())?;
    let mut base = match parsed.into_iter().next().map(|d| d.value) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    merge_values(&mut base, inline, overwrite);
    Ok(tack_yaml::to_yaml_stream(std::iter::once(&Value::Object(base))))
}

/// Decides the [`HelmInflation`] of `chart` for the kustomization in `dir`: `read` reads a file (confined
/// as every kustomization file is) for the values file `valuesInline` merges with.
pub fn plan(
    chart: &HelmChart,
    globals: &HelmGlobals,
    dir: &Path,
    read: &dyn Fn(&Path) -> Result<Vec<u8>, String>,
) -> Result<HelmInflation, String> {
    if chart.name.is_empty() {
        return Err("chart name cannot be empty".into());
    }
    if !chart.name_template.is_empty() {
        return Err("nameTemplate is not supported by tack: set releaseName".into());
    }
    let home = if globals.chart_home.is_empty() {
        "charts"
    } else {
        globals.chart_home.as_str()
    };
    let mut home = dir.join(home);
    if !chart.version.is_empty() && !chart.repo.is_empty() {
        home = home.join(format!("{}-{}", chart.name, chart.version));
    }
    let chart_dir = home.join(&chart.name);
    let values_file = if chart.values_file.is_empty() {
        chart_dir.join("values.yaml")
    } else {
        dir.join(&chart.values_file)
    };
    let mut value_files = Vec::new();
    let mut inline_values = None;
    let mut pending_merge = None;
    if chart.values_inline.is_empty() {
        // kustomize passes the values file (by default the chart's own values.yaml) as `-f`; the chart's
        // own file changes nothing, and a chart still to be fetched has none on disk yet.
        if !chart.values_file.is_empty() {
            value_files.push(values_file);
        }
    } else {
        match chart.values_merge.as_str() {
            "" | "override" | "merge" => {
                let overwrite = chart.values_merge != "merge";
                match read(&values_file) {
                    Ok(text) => {
                        inline_values = Some(merged_values(
                            &String::from_utf8_lossy(&text),
                            &values_file.display().to_string(),
                            &chart.values_inline,
                            overwrite,
                        )?);
                    }
                    // The chart's own values, of a chart the inflator fetches first.
                    Err(_) if chart.values_file.is_empty() && !chart.repo.is_empty() => {
                        pending_merge = Some((chart.values_inline.clone(), overwrite));
                    }
                    Err(e) => return Err(e),
                }
            }
            "replace" => {
                inline_values = Some(tack_yaml::to_yaml_stream(std::iter::once(&Value::Object(
                    chart.values_inline.clone(),
                ))));
            }
            other => {
                return Err(format!(
                    "valuesMerge must be one of 'override', 'replace', or 'merge', got '{other}'"
                ));
            }
        }
    }
    value_files.extend(chart.additional_values_files.iter().map(|f| dir.join(f)));
    Ok(HelmInflation {
        chart_dir,
        name: chart.name.clone(),
        repo: chart.repo.clone(),
        version: chart.version.clone(),
        release_name: if chart.release_name.is_empty() {
            "release-name".into()
        } else {
            chart.release_name.clone()
        },
        namespace: chart.namespace.clone(),
        value_files,
        inline_values,
        pending_merge,
        api_versions: chart.api_versions.clone(),
        kube_version: chart.kube_version.clone(),
        include_crds: chart.include_crds,
        skip_hooks: chart.skip_hooks,
        skip_tests: chart.skip_tests,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_overrides_or_fills() {
        let mut d = obj(json!({"a": 1, "m": {"x": 1, "y": [1, 2]}, "t": true}));
        merge_values(
            &mut d,
            &obj(json!({"a": 0, "m": {"y": [], "z": null}, "t": false})),
            true,
        );
        assert_eq!(
            Value::Object(d),
            json!({"a": 0, "m": {"x": 1, "y": [], "z": null}, "t": false})
        );
        let mut d = obj(json!({"a": 1, "m": {"x": 1}}));
        merge_values(
            &mut d,
            &obj(json!({"a": 2, "m": {"x": 2, "z": 3}, "n": 4})),
            false,
        );
        assert_eq!(Value::Object(d), json!({"a": 1, "m": {"x": 1, "z": 3}, "n": 4}));
    }

    #[test]
    fn chart_location_and_values() {
        let dir = Path::new("/k");
        let read = |p: &Path| -> Result<Vec<u8>, String> {
            assert_eq!(p, Path::new("/k/charts/web/values.yaml"));
            Ok(b"replicaCount: 1\nimage: {tag: a}\n".to_vec())
        };
        let chart = HelmChart {
            name: "web".into(),
            values_inline: obj(json!({"image": {"tag": "b"}})),
            additional_values_files: vec!["prod.yaml".into()],
            ..Default::default()
        };
        let p = plan(&chart, &HelmGlobals::default(), dir, &read).unwrap();
        assert_eq!(p.chart_dir, Path::new("/k/charts/web"));
        assert_eq!(p.release_name, "release-name");
        assert_eq!(p.value_files, [PathBuf::from("/k/prod.yaml")]);
        assert_eq!(
            p.inline_values.as_deref(),
            Some("image:\n  tag: b\nreplicaCount: 1\n")
        );
        let versioned = HelmChart {
            name: "web".into(),
            repo: "https://charts.example.com".into(),
            version: "1.0.0".into(),
            ..Default::default()
        };
        let globals = HelmGlobals {
            chart_home: "vendor".into(),
            ..Default::default()
        };
        let p = plan(&versioned, &globals, dir, &read).unwrap();
        assert_eq!(p.chart_dir, Path::new("/k/vendor/web-1.0.0/web"));
        assert!(p.value_files.is_empty() && p.inline_values.is_none());
        let bad = HelmChart {
            name: "web".into(),
            values_inline: obj(json!({"a": 1})),
            values_merge: "deep".into(),
            ..Default::default()
        };
        assert!(
            plan(&bad, &globals, dir, &read)
                .unwrap_err()
                .contains("valuesMerge")
        );
    }
}
