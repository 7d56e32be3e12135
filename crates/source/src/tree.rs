//! Writing a commit's tree to a directory, one blob in memory at a time. Files that an earlier checkout of the
//! same repository holds unchanged (same blob id, same mode, same size on disk) are hard links to it instead
//! of new copies: a commit of a large monorepo that changes a few files costs a few writes, not one per file.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;

/// An earlier checkout of the same repository: its tree and where it was written. Its files are only ever
/// linked after their size was checked against the blob, and any failure falls back to writing the blob.
#[derive(Clone, Debug)]
pub(crate) struct Earlier {
    pub(crate) tree: gix::ObjectId,
    pub(crate) dir: PathBuf,
}

/// What one tree holds: (file name, kind, object id), in the tree's order.
type Entries = Vec<(Vec<u8>, EntryKind, gix::ObjectId)>;

fn entries(repo: &gix::Repository, tree_id: gix::ObjectId) -> Result<Entries, String> {
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| format!("cannot read tree {tree_id}: {e}"))?;
    let mut out = Vec::new();
    for entry in tree.iter() {
        let entry = entry.map_err(|e| format!("cannot decode tree {tree_id}: {e}"))?;
        out.push((
            entry.filename().to_owned().into(),
            entry.mode().kind(),
            entry.object_id(),
        ));
    }
    Ok(out)
}

/// Links `path` to the earlier checkout's copy `from` of blob `id` when that copy is a regular file of the
/// blob's size; `false` when it could not (the caller writes the blob).
fn link_unchanged(repo: &gix::Repository, id: gix::ObjectId, from: &Path, path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(from) else {
        return false;
    };
    let size = repo.find_header(id).map(|h| h.size());
    meta.is_file() && size.is_ok_and(|s| s == meta.len()) && fs::hard_link(from, path).is_ok()
}

/// Writes the tree `tree_id` of `repo` below `dir` (which exists and is empty).
///
/// Files keep their executable bit, symbolic links are recreated as links (the renderers decide whether to
/// follow them), submodules become empty directories (submodules are not fetched). Entry names that could
/// escape `dir` (`.`, `..`, names with `/`) and `.git` are refused.
pub(crate) fn write_tree(
    repo: &gix::Repository,
    tree_id: gix::ObjectId,
    dir: &Path,
    earlier: Option<&Earlier>,
) -> Result<(), String> {
    // The entries first: small (name, mode, id) triples, not blob contents.
    let entries = entries(repo, tree_id)?;
    // The earlier checkout's entries of the same directory (none when it cannot be read: everything is written).
    let before: HashMap<Vec<u8>, (EntryKind, gix::ObjectId)> = match earlier {
        Some(e) => self::entries(repo, e.tree)
            .map(|v| v.into_iter().map(|(n, k, i)| (n, (k, i))).collect())
            .unwrap_or_default(),
        None => HashMap::new(),
    };
    for (name, kind, id) in entries {
        let was = before.get(&name).copied();
        let name = std::str::from_utf8(&name).map_err(|_| format!("file name {name:?} is not UTF-8"))?;
        if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
            return Err(format!("refusing unsafe file name {name:?} in tree {tree_id}"));
        }
        if name.eq_ignore_ascii_case(".git") {
            continue;
        }
        let path = dir.join(name);
        match kind {
            EntryKind::Tree => {
                fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let inner = match (earlier, was) {
                    (Some(e), Some((EntryKind::Tree, tree))) => Some(Earlier {
                        tree,
                        dir: e.dir.join(name),
                    }),
                    _ => None,
                };
                write_tree(repo, id, &path, inner.as_ref())?;
            }
            EntryKind::Blob | EntryKind::BlobExecutable
                if earlier.is_some_and(|e| {
                    was == Some((kind, id)) && link_unchanged(repo, id, &e.dir.join(name), &path)
                }) => {}
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let blob = repo
                    .find_blob(id)
                    .map_err(|e| format!("cannot read {name} ({id}): {e}"))?;
                fs::write(&path, &blob.data).map_err(|e| format!("{}: {e}", path.display()))?;
                #[cfg(unix)]
                if kind == EntryKind::BlobExecutable {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            EntryKind::Link => {
                let blob = repo
                    .find_blob(id)
                    .map_err(|e| format!("cannot read link {name} ({id}): {e}"))?;
                let target = String::from_utf8_lossy(&blob.data).into_owned();
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &path).map_err(|e| format!("{}: {e}", path.display()))?;
                #[cfg(not(unix))]
                fs::write(&path, target.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            EntryKind::Commit => {
                fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}
