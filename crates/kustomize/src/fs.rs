//! File access for the engine: the real disk or an in-memory tree.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What the engine needs from a file system. `Sync`: independent bases are built on several threads.
pub trait FileSystem: Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// Absolute, normalised path with symbolic links resolved.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// [`FileSystem::canonicalize`] for a lexically normalised `path` under `base`, a directory
    /// that is already canonical: implementations may resolve only the part below `base`.
    fn canonicalize_under(&self, base: &Path, path: &Path) -> io::Result<PathBuf> {
        let _ = base;
        self.canonicalize(path)
    }
}

/// The real disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn canonicalize_under(&self, base: &Path, path: &Path) -> io::Result<PathBuf> {
        // Every ancestor of a canonical directory is canonical too: only the components below
        // the longest common ancestor of `base` and `path` are checked, with one `lstat` each;
        // any symbolic link (or anything unusual) takes the full resolution.
        let mut cur = PathBuf::new();
        let mut rest = path.components();
        for b in base.components() {
            let mut peek = rest.clone();
            if peek.next() != Some(b) {
                break;
            }
            cur.push(b.as_os_str());
            rest = peek;
        }
        if cur.as_os_str().is_empty() {
            return std::fs::canonicalize(path);
        }
        let rest = rest.as_path();
        for c in rest.components() {
            let Component::Normal(n) = c else {
                return std::fs::canonicalize(path);
            };
            cur.push(n);
            if std::fs::symlink_metadata(&cur)?.file_type().is_symlink() {
                return std::fs::canonicalize(path);
            }
        }
        Ok(cur)
    }
}

/// An in-memory tree of files; directories exist implicitly. Paths are absolute.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> &mut Self {
        self.files
            .insert(normalize(&Path::new("/").join(path.as_ref())), content.into());
        self
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(&normalize(path)).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file", path.display()),
            )
        })
    }
    fn is_dir(&self, path: &Path) -> bool {
        let p = normalize(path);
        if p == Path::new("/") {
            return true;
        }
        self.files.keys().any(|k| k.starts_with(&p) && k != &p)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = normalize(path);
        if self.is_file(&p) || self.is_dir(&p) {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or directory", path.display()),
            ))
        }
    }
}

/// Lexical normalisation (`.` and `..` removed).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
