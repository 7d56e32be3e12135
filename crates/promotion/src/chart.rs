//! A Helm chart's version in a stage's configuration, read and set while keeping every other byte of the file:
//! the `version:` of a kustomization's `helmCharts` entry (Kustomize's chart inflation), or of a GitOpsConfig
//! manifest's `spec.source.helm.chart` (a stage whose applications are themselves kept in Git). The entry must
//! have a `version:` field already: promotion does not pin a chart that follows its newest version.

use crate::Error;
use crate::kustomization::{items, key_of, replace_value, top_level_block};
use crate::text::{Line, indent_of, lines, scalar_value};

/// The version of chart `name` in a kustomization's `helmCharts:` list.
pub fn kustomization_version(text: &str, name: &str) -> Option<String> {
    let all = lines(text);
    let line = helm_charts_version_line(&all, name).ok()??;
    Some(value_of(&all[line]))
}

/// `text` with chart `name`'s `version:` in the `helmCharts:` list set to `version`; `None` when the list has
/// no entry of that name.
pub fn set_kustomization_version(text: &str, name: &str, version: &str) -> Result<Option<String>, Error> {
    let all = lines(text);
    match helm_charts_version_line(&all, name)? {
        Some(line) => Ok(Some(replace_line(&all, line, version))),
        None => Ok(None),
    }
}

/// The version of chart `name` in the GitOpsConfig manifests of `text` (a YAML stream).
pub fn manifest_version(text: &str, name: &str) -> Option<String> {
    let all = lines(text);
    let line = manifest_version_lines(&all, name).ok()?.into_iter().next()?;
    Some(value_of(&all[line]))
}

/// `text` with the version of every GitOpsConfig's `spec.source.helm.chart` named `name` set to `version`,
/// and how many charts were found.
pub fn set_manifest_version(text: &str, name: &str, version: &str) -> Result<(String, usize), Error> {
    let all = lines(text);
    let found = manifest_version_lines(&all, name)?;
    let mut out = String::with_capacity(text.len() + version.len());
    for (i, l) in all.iter().enumerate() {
        if found.contains(&i) {
            out.push_str(&replace_value(l, version));
        } else {
            out.push_str(l.body);
            out.push_str(l.end);
        }
    }
    Ok((out, found.len()))
}

fn value_of(l: &Line<'_>) -> String {
    let body = l.body.trim_start().trim_start_matches('-').trim_start();
    scalar_value(&body["version:".len()..])
}

fn replace_line(all: &[Line<'_>], line: usize, version: &str) -> String {
    all.iter()
        .enumerate()
        .map(|(i, l)| {
            if i == line {
                replace_value(l, version)
            } else {
                format!("{}{}", l.body, l.end)
            }
        })
        .collect()
}

/// The `version:` line of the `helmCharts:` entry named `name`: `Ok(None)` without such an entry, an error
/// when the entry has no `version:`.
fn helm_charts_version_line(all: &[Line<'_>], name: &str) -> Result<Option<usize>, Error> {
    let Some((key_idx, end)) = top_level_block(all, "helmCharts") else {
        return Ok(None);
    };
    let Some(item) = items(all, key_idx + 1, end)
        .into_iter()
        .find(|it| it.name.as_deref() == Some(name))
    else {
        return Ok(None);
    };
    let line = item.field_line(all, "version");
    line.map(Some).ok_or_else(|| {
        Error::Config(format!(
            "the kustomization's helmCharts entry {name:?} has no version: field; pin one (e.g. version: 1.0.0) so that promotion can move it"
        ))
    })
}

/// The `version:` lines of every GitOpsConfig document's `chart:` mapping whose `name:` is `name`.
fn manifest_version_lines(all: &[Line<'_>], name: &str) -> Result<Vec<usize>, Error> {
    let mut out = Vec::new();
    let mut doc_start = 0;
    for end in (0..=all.len()).filter(|&i| i == all.len() || all[i].body.starts_with("---")) {
        let doc = doc_start..end;
        doc_start = end + 1;
        let is_app = doc
            .clone()
            .any(|i| indent_of(all[i].body) == 0 && all[i].body.trim_end() == "kind: GitOpsConfig");
        if !is_app {
            continue;
        }
        for i in doc.clone() {
            let b = all[i].body;
            if key_of(b.trim_start()) != Some("chart") || !b.trim_start()["chart:".len()..].trim().is_empty()
            {
                continue;
            }
            let parent = indent_of(b);
            let block_end = (i + 1..doc.end)
                .find(|&j| {
                    let c = all[j].body;
                    !c.trim().is_empty() && !c.trim_start().starts_with('#') && indent_of(c) <= parent
                })
                .unwrap_or(doc.end);
            let Some(column) = (i + 1..block_end)
                .map(|j| all[j].body)
                .find(|c| !c.trim().is_empty() && !c.trim_start().starts_with('#'))
                .map(indent_of)
            else {
                continue;
            };
            let field = |key: &str| {
                (i + 1..block_end).find(|&j| {
                    indent_of(all[j].body) == column && key_of(all[j].body.trim_start()) == Some(key)
                })
            };
            let named = field("name").is_some_and(|j| {
                let t = all[j].body.trim_start();
                scalar_value(&t["name:".len()..]) == name
            });
            if !named {
                continue;
            }
            let line = field("version").ok_or_else(|| {
                Error::Config(format!(
                    "the GitOpsConfig's chart {name:?} has no version: field; pin one (e.g. version: 1.0.0) so that promotion can move it"
                ))
            })?;
            out.push(line);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUSTOMIZATION: &str = "# qa\nhelmCharts:\n- name: podinfo # the app\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.5.0 # pinned\n  valuesInline:\n    version: keep\n- name: redis\n  version: \"19.0\"\nnamespace: qa\n";

    #[test]
    fn sets_a_helm_charts_version_and_nothing_else() {
        assert_eq!(
            kustomization_version(KUSTOMIZATION, "podinfo").as_deref(),
            Some("6.5.0")
        );
        assert_eq!(
            kustomization_version(KUSTOMIZATION, "redis").as_deref(),
            Some("19.0")
        );
        let out = set_kustomization_version(KUSTOMIZATION, "podinfo", "6.7.1")
            .expect("edit")
            .expect("found");
        assert_eq!(
            out,
            KUSTOMIZATION.replace("version: 6.5.0 # pinned", "version: 6.7.1 # pinned")
        );
        let out = set_kustomization_version(KUSTOMIZATION, "redis", "20.0")
            .expect("edit")
            .expect("found");
        assert_eq!(
            out,
            KUSTOMIZATION.replace("version: \"19.0\"", "version: \"20.0\"")
        );
        assert!(
            set_kustomization_version(KUSTOMIZATION, "nginx", "1")
                .expect("edit")
                .is_none()
        );
        assert!(
            set_kustomization_version("resources:\n- a.yaml\n", "podinfo", "1")
                .expect("edit")
                .is_none()
        );
    }

    #[test]
    fn version_first_and_entries_without_version() {
        let text = "helmCharts:\n  - version: 1.0.0\n    name: app\n";
        let out = set_kustomization_version(text, "app", "1.1.0")
            .expect("edit")
            .expect("found");
        assert_eq!(out, "helmCharts:\n  - version: 1.1.0\n    name: app\n");
        let err = set_kustomization_version("helmCharts:\n- name: app\n  repo: x\n", "app", "1")
            .expect_err("no version");
        assert!(err.to_string().contains("has no version: field"), "{err}");
    }

    #[test]
    fn sets_a_gitopsconfig_charts_version() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\ndata:\n  chart:\n---\napiVersion: gitops.tack.dev/v1alpha1\nkind: GitOpsConfig\nmetadata:\n  name: podinfo-qa\nspec:\n  source:\n    repoURL: https://example.com/config.git\n    helm:\n      chart:\n        repoURL: oci://ghcr.io/stefanprodan/charts\n        name: podinfo\n        version: 6.5.0\n      releaseName: podinfo\n";
        assert_eq!(manifest_version(text, "podinfo").as_deref(), Some("6.5.0"));
        let (out, n) = set_manifest_version(text, "podinfo", "6.7.1").expect("edit");
        assert_eq!(n, 1);
        assert_eq!(out, text.replace("version: 6.5.0", "version: 6.7.1"));
        let (same, n) = set_manifest_version(text, "redis", "1").expect("edit");
        assert_eq!((same.as_str(), n), (text, 0));
    }
}
