//! A stage's configuration in a checked-out tree: reading its release and writing a new one through
//! [`crate::git::Target::commit`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::config::{self, Format, StageFiles};
use crate::git::{Committed, Target};
use crate::part::{Kind, Part};
use crate::release::Release;
use crate::{Error, manifest};

/// Files larger than this are not read as configuration.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Where a stage's configuration lives and how it records tags.
#[derive(Clone, Debug)]
pub struct StageConfig {
    /// The repository branch.
    pub target: Target,
    /// The folder in the repository (`""` for the root).
    pub path: String,
    /// The Helm values file, relative to `path`, when the stage is configured by one.
    pub helm_values_file: Option<String>,
}

impl StageConfig {
    fn folder(&self) -> &str {
        self.path.trim_matches('/')
    }

    /// The release the configuration holds in the checked-out tree at `root`, when every part has a version.
    pub fn release_in(&self, root: &Path, parts: &[Part]) -> Result<Option<Release>, Error> {
        let (format, files) = self.load(root)?;
        let fallback = match format {
            Format::Kustomize(_) => repository_tags(root, parts),
            _ => BTreeMap::new(),
        };
        let versions = config::current_versions(&format, &files, parts, &fallback);
        Ok(Release::from_versions(parts, &versions))
    }

    /// Writes `release` into the configuration at the branch head and pushes one commit with `message` to the
    /// branch, or to the new branch `review` when given. `commit` is `None` when the branch already held the
    /// release.
    pub fn promote(
        &self,
        release: &Release,
        message: &str,
        review: Option<&str>,
    ) -> Result<Committed, Error> {
        let edit = |root: &Path| -> Result<BTreeMap<String, String>, Error> {
            let (format, files) = self.load(root)?;
            let changed = config::apply(&format, &files, release, self.folder())?;
            Ok(changed
                .into_iter()
                .map(|(rel, text)| (join(self.folder(), &rel), text))
                .collect())
        };
        match review {
            Some(branch) => self.target.commit_for_review(&edit, message, branch),
            None => self.target.commit(&edit, message),
        }
    }

    /// The format and the files it edits.
    fn load(&self, root: &Path) -> Result<(Format, StageFiles), Error> {
        let dir = root.join(self.folder());
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "the configuration folder {:?} does not exist on branch {}",
                self.folder(),
                self.target.branch
            )));
        }
        let mut names = Vec::new();
        list(&dir, "", &mut names, 0);
        let format = config::detect(&names, self.helm_values_file.as_deref());
        let wanted: Vec<String> = match &format {
            Format::Kustomize(f) | Format::Helm(f) => vec![f.clone()],
            Format::Plain => names.into_iter().filter(|n| is_yaml(n)).collect(),
        };
        let mut files = StageFiles::default();
        for rel in wanted {
            let text = read_text(&dir.join(&rel))
                .ok_or_else(|| Error::Config(format!("cannot read {}/{rel}", self.folder())))?;
            files.files.insert(rel, text);
        }
        if matches!(format, Format::Kustomize(_)) {
            files.repository_images = repository_images(root);
        }
        Ok((format, files))
    }
}

fn join(folder: &str, rel: &str) -> String {
    if folder.is_empty() {
        rel.to_string()
    } else {
        format!("{folder}/{rel}")
    }
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn read_text(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    fs::read_to_string(path).ok()
}

/// Relative paths of the regular files under `dir` (symbolic links and `.git` skipped).
fn list(dir: &Path, prefix: &str, out: &mut Vec<String>, depth: usize) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if ft.is_dir() && name != ".git" && depth < 16 {
            list(&e.path(), &rel, out, depth + 1);
        } else if ft.is_file() {
            out.push(rel);
        }
    }
}

fn yaml_files(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    list(root, "", &mut names, 0);
    names.into_iter().filter(|n| is_yaml(n)).collect()
}

/// The names of every image an `image:` field references anywhere in the repository.
fn repository_images(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rel in yaml_files(root) {
        if let Some(text) = read_text(&root.join(&rel)) {
            for l in text.lines() {
                let t = l.trim_start().trim_start_matches("- ").trim_start();
                if let Some(v) = t.strip_prefix("image:") {
                    let v = v.split(" #").next().unwrap_or(v).trim().trim_matches(['"', '\'']);
                    out.insert(manifest::name_of(v).to_string());
                }
            }
        }
    }
    out
}

/// The first tag found for each image in the repository's manifests (a Kustomize stage without an `images:`
/// entry runs the tag of its base).
fn repository_tags(root: &Path, parts: &[Part]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let images: Vec<&Part> = parts.iter().filter(|p| p.kind == Kind::Image).collect();
    if images.is_empty() {
        return out;
    }
    for rel in yaml_files(root) {
        if let Some(text) = read_text(&root.join(&rel)) {
            for image in &images {
                if !out.contains_key(&image.name)
                    && let Some(tag) = manifest::image_tags(&text, &image.name).into_iter().next()
                {
                    out.insert(image.name.clone(), tag);
                }
            }
        }
    }
    out
}
