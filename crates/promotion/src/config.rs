//! A stage's configuration as files, and the edit that writes a release into it.
//!
//! The format is chosen by the stage: a Helm values file when the stage names one, a kustomization when the
//! folder holds one, otherwise plain manifests. Each part of a release is written where that format keeps it:
//!
//! | part | Kustomize | Helm values file | plain manifests |
//! |---|---|---|---|
//! | image | `images:` `newTag` | the image's `helmTagKey` | `image:` fields |
//! | chart | `helmCharts[].version` | — | GitOpsConfigs' `spec.source.helm.chart.version` |
//! | base | `?ref=` of remote `resources:`/`components:` | — | — |
//!
//! Every part must be referenced by the configuration; otherwise the edit fails and nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use crate::part::{Kind, Part};
use crate::release::Release;
use crate::{Error, base, chart, kustomization, manifest, values};

/// The file names Kustomize reads as a kustomization, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How a stage's configuration records image tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// A kustomization file (path relative to the stage folder) with an `images:` list.
    Kustomize(String),
    /// A Helm values file (path relative to the stage folder); each image names its tag key.
    Helm(String),
    /// Plain manifests: every YAML file of the folder.
    Plain,
}

/// The stage folder's files (paths relative to it) and the format they are edited in.
#[derive(Clone, Debug, Default)]
pub struct StageFiles {
    /// Relative path → content, for the files the format edits (the kustomization, the values file, or every
    /// YAML manifest).
    pub files: BTreeMap<String, String>,
    /// Image names referenced by `image:` fields anywhere in the repository (Kustomize bases included), used to
    /// refuse an image the configuration does not use.
    pub repository_images: BTreeSet<String>,
}

/// Chooses the format from the folder's file names and the stage's values file.
pub fn detect(file_names: &[String], helm_values_file: Option<&str>) -> Format {
    if let Some(v) = helm_values_file {
        return Format::Helm(v.to_string());
    }
    KUSTOMIZATION_FILES
        .iter()
        .find(|k| file_names.iter().any(|f| f == *k))
        .map(|k| Format::Kustomize(k.to_string()))
        .unwrap_or(Format::Plain)
}

/// The files whose content changes when `release` is written in `format`: path → new content. Empty when the
/// configuration already holds the release.
pub fn apply(
    format: &Format,
    stage: &StageFiles,
    release: &Release,
    stage_path: &str,
) -> Result<BTreeMap<String, String>, Error> {
    let mut files = stage.files.clone();
    for (part, version) in &release.versions {
        match part.kind {
            Kind::Image => set_image(format, stage, &mut files, part, version, stage_path)?,
            Kind::Chart => set_chart(format, &mut files, part, version, stage_path)?,
            Kind::Base => set_base(format, &mut files, part, version, stage_path)?,
        }
    }
    Ok(files
        .into_iter()
        .filter(|(path, text)| stage.files.get(path) != Some(text))
        .collect())
}

fn set_image(
    format: &Format,
    stage: &StageFiles,
    files: &mut BTreeMap<String, String>,
    part: &Part,
    tag: &str,
    stage_path: &str,
) -> Result<(), Error> {
    let name = &part.name;
    let unknown = || Error::UnknownImage {
        image: name.clone(),
        path: stage_path.to_string(),
    };
    match format {
        Format::Kustomize(file) => {
            let text = file_of(files, file, stage_path)?;
            if kustomization::image_tag(text, name).is_none() && !stage.repository_images.contains(name) {
                return Err(unknown());
            }
            let edited = kustomization::set_image(text, name, None, tag)?;
            files.insert(file.clone(), edited);
        }
        Format::Helm(file) => {
            let key = part.helm_tag_key.as_deref().ok_or_else(|| {
                Error::Config(format!(
                    "image {name:?} has no helmTagKey; a stage configured by the values file {file:?} needs one"
                ))
            })?;
            let text = file_of(files, file, stage_path)?;
            let edited = values::set_key(text, key, tag)?;
            files.insert(file.clone(), edited);
        }
        Format::Plain => {
            let mut total = 0;
            for text in files.values_mut() {
                let (edited, n) = manifest::set_image(text, name, tag);
                total += n;
                *text = edited;
            }
            if total == 0 {
                return Err(unknown());
            }
        }
    }
    Ok(())
}

fn set_chart(
    format: &Format,
    files: &mut BTreeMap<String, String>,
    part: &Part,
    version: &str,
    stage_path: &str,
) -> Result<(), Error> {
    let unknown = || Error::UnknownPart {
        kind: "chart",
        name: part.name.clone(),
        path: stage_path.to_string(),
        wanted: "a kustomization's helmCharts entry or a GitOpsConfig manifest's spec.source.helm.chart",
    };
    match format {
        Format::Kustomize(file) => {
            let text = file_of(files, file, stage_path)?;
            let edited = chart::set_kustomization_version(text, &part.name, version)?.ok_or_else(unknown)?;
            files.insert(file.clone(), edited);
        }
        Format::Plain => {
            let mut total = 0;
            for text in files.values_mut() {
                let (edited, n) = chart::set_manifest_version(text, &part.name, version)?;
                total += n;
                *text = edited;
            }
            if total == 0 {
                return Err(unknown());
            }
        }
        Format::Helm(_) => return Err(unknown()),
    }
    Ok(())
}

fn set_base(
    format: &Format,
    files: &mut BTreeMap<String, String>,
    part: &Part,
    reference: &str,
    stage_path: &str,
) -> Result<(), Error> {
    let unknown = || Error::UnknownPart {
        kind: "base",
        name: part.name.clone(),
        path: stage_path.to_string(),
        wanted: "a remote resources: or components: entry of the stage's kustomization",
    };
    let Format::Kustomize(file) = format else {
        return Err(unknown());
    };
    let text = file_of(files, file, stage_path)?;
    let (edited, n) = base::set_reference(text, &part.name, reference);
    if n == 0 {
        return Err(unknown());
    }
    files.insert(file.clone(), edited);
    Ok(())
}

fn file_of<'a>(
    files: &'a BTreeMap<String, String>,
    file: &str,
    stage_path: &str,
) -> Result<&'a String, Error> {
    files
        .get(file)
        .ok_or_else(|| Error::Config(format!("{stage_path}/{file} is missing")))
}

/// The versions the configuration gives the parts (for Kustomize, images without `newTag` fall back to the
/// tags of the plain manifests of the repository, given in `fallback` by image name).
pub fn current_versions(
    format: &Format,
    stage: &StageFiles,
    parts: &[Part],
    fallback: &BTreeMap<String, String>,
) -> BTreeMap<Part, String> {
    let mut out = BTreeMap::new();
    for part in parts {
        let version = match (part.kind, format) {
            (Kind::Image, Format::Kustomize(file)) => stage
                .files
                .get(file)
                .and_then(|t| kustomization::image_tag(t, &part.name))
                .or_else(|| fallback.get(&part.name).cloned()),
            (Kind::Image, Format::Helm(file)) => part
                .helm_tag_key
                .as_deref()
                .and_then(|k| stage.files.get(file).and_then(|t| values::get_key(t, k))),
            (Kind::Image, Format::Plain) => stage
                .files
                .values()
                .flat_map(|t| manifest::image_tags(t, &part.name))
                .next(),
            (Kind::Chart, Format::Kustomize(file)) => stage
                .files
                .get(file)
                .and_then(|t| chart::kustomization_version(t, &part.name)),
            (Kind::Chart, Format::Plain) => stage
                .files
                .values()
                .find_map(|t| chart::manifest_version(t, &part.name)),
            (Kind::Base, Format::Kustomize(file)) => {
                stage.files.get(file).and_then(|t| base::reference(t, &part.name))
            }
            (Kind::Chart | Kind::Base, _) => None,
        };
        if let Some(version) = version {
            out.insert(part.clone(), version);
        }
    }
    out
}
