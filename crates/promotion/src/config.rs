//! A stage's configuration as files, and the edit that writes a release into it.
//!
//! The format is chosen by the stage: a Helm values file when the stage names one, Kustomize `images:` when
//! the folder holds a kustomization, otherwise the plain manifests' `image:` fields. Every promoted image must
//! be referenced by the configuration; otherwise the edit fails and nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use tack_model::PromotedImage;

use crate::release::Release;
use crate::{Error, kustomization, manifest, values};

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
    images: &[PromotedImage],
    release: &Release,
    stage_path: &str,
) -> Result<BTreeMap<String, String>, Error> {
    let mut files = stage.files.clone();
    for (name, tag) in &release.tags {
        let unknown = || Error::UnknownImage {
            image: name.clone(),
            path: stage_path.to_string(),
        };
        match format {
            Format::Kustomize(file) => {
                let text = files
                    .get(file)
                    .ok_or_else(|| Error::Config(format!("{stage_path}/{file} is missing")))?;
                if kustomization::image_tag(text, name).is_none() && !stage.repository_images.contains(name) {
                    return Err(unknown());
                }
                let edited = kustomization::set_image(text, name, None, tag)?;
                files.insert(file.clone(), edited);
            }
            Format::Helm(file) => {
                let key = images
                    .iter()
                    .find(|i| &i.name == name)
                    .and_then(|i| i.helm_tag_key.as_deref())
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "image {name:?} has no helmTagKey; a stage configured by the values file {file:?} needs one"
                        ))
                    })?;
                let text = files
                    .get(file)
                    .ok_or_else(|| Error::Config(format!("{stage_path}/{file} is missing")))?;
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
    }
    Ok(files
        .into_iter()
        .filter(|(path, text)| stage.files.get(path) != Some(text))
        .collect())
}

/// The tags the configuration gives the images (for Kustomize, entries without `newTag` fall back to the tags
/// of the plain manifests of the repository, given in `fallback`).
pub fn current_tags(
    format: &Format,
    stage: &StageFiles,
    images: &[PromotedImage],
    fallback: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for image in images {
        let tag = match format {
            Format::Kustomize(file) => stage
                .files
                .get(file)
                .and_then(|t| kustomization::image_tag(t, &image.name))
                .or_else(|| fallback.get(&image.name).cloned()),
            Format::Helm(file) => image
                .helm_tag_key
                .as_deref()
                .and_then(|k| stage.files.get(file).and_then(|t| values::get_key(t, k))),
            Format::Plain => stage
                .files
                .values()
                .flat_map(|t| manifest::image_tags(t, &image.name))
                .next(),
        };
        if let Some(tag) = tag {
            out.insert(image.name.clone(), tag);
        }
    }
    out
}
