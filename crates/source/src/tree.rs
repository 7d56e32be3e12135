//! Writing a commit's tree to a directory, one blob in memory at a time.

use std::fs;
use std::path::Path;

use gix::objs::tree::EntryKind;

/// Writes the tree `tree_id` of `repo` below `dir` (which exists and is empty).
///
/// Files keep their executable bit, symbolic links are recreated as links (the renderers decide whether to
/// follow them), submodules become empty directories (submodules are not fetched). Entry names that could
/// escape `dir` (`.`, `..`, names with `/`) and `.git` are refused.
pub(crate) fn write_tree(repo: &gix::Repository, tree_id: gix::ObjectId, dir: &Path) -> Result<(), String> {
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| format!("cannot read tree {tree_id}: {e}"))?;
    // Collect the entries first: small (name, mode, id) triples, not blob contents.
    let mut entries = Vec::new();
    for entry in tree.iter() {
        let entry = entry.map_err(|e| format!("cannot decode tree {tree_id}: {e}"))?;
        entries.push((
            entry.filename().to_owned(),
            entry.mode().kind(),
            entry.object_id(),
        ));
    }
    drop(tree);
    for (name, kind, id) in entries {
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
                write_tree(repo, id, &path)?;
            }
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
