//! Confinement: a GitOps source reads only files of its own repository checkout.
//!
//! Kustomize allows bases outside a kustomization's directory (`../base`), and so does tack, but never outside
//! the checkout of the application's repository: not into the shared tree cache where other applications'
//! checkouts live, not anywhere else on the controller's disk. [`ConfinedFs`] is the filesystem every renderer
//! reads a Git source through; remote bases that the source itself asked for (Git URLs in `resources:`) are
//! added to the allowed roots as they are fetched, through [`ConfinedRemote`].
//! A local `tack render DIR` on the user's own disk is not confined (kubectl's behaviour).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tack_kustomize::{DiskFs, FileSystem, RemoteLoader, RemoteSpec};

/// The rule, as errors state it.
pub const RULE: &str = "a source may only read files inside its own repository checkout";

/// The directories a source may read: its checkout, plus the remote bases it fetched.
#[derive(Clone, Debug, Default)]
pub struct Roots(Arc<RwLock<Vec<PathBuf>>>);

impl Roots {
    /// Roots starting with `root` (made canonical when it exists).
    pub fn new(root: &Path) -> Self {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Roots(Arc::new(RwLock::new(vec![root])))
    }

    /// The first root: the checkout.
    pub fn checkout(&self) -> PathBuf {
        self.0
            .read()
            .map(|r| r.first().cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    fn add(&self, dir: &Path) {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Ok(mut roots) = self.0.write()
            && !roots.contains(&dir)
        {
            roots.push(dir);
        }
    }

    /// Whether the canonical `path` lies inside one of the roots.
    pub fn contains(&self, path: &Path) -> bool {
        self.0
            .read()
            .map(|roots| roots.iter().any(|r| path.starts_with(r)))
            .unwrap_or(false)
    }

    /// The error for a path that leaves the roots.
    pub fn refusal(&self, path: &Path) -> io::Error {
        let checkout = self.checkout();
        let shown = path.strip_prefix(&checkout).unwrap_or(path);
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is outside the repository checkout: {RULE} (no `..` out of it, no symbolic links out of it)",
                shown.display()
            ),
        )
    }

    /// Checks `path` (resolving `..` and symbolic links): its canonical form when inside, the refusal
    /// otherwise. A path that does not exist is judged by its lexically normalised form.
    pub fn check(&self, path: &Path) -> io::Result<PathBuf> {
        let real = match std::fs::canonicalize(path) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => normalize(path),
            Err(e) => return Err(e),
        };
        if self.contains(&real) {
            Ok(real)
        } else {
            Err(self.refusal(path))
        }
    }
}

/// `path` with `.` and `..` resolved lexically.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The disk, seen through [`Roots`]: reads outside them fail with the rule; `is_dir`/`is_file` answer `false`.
#[derive(Clone, Debug)]
pub struct ConfinedFs {
    roots: Roots,
}

impl ConfinedFs {
    /// Reads confined to `roots` (which may grow as remote bases are fetched).
    pub fn new(roots: Roots) -> Self {
        ConfinedFs { roots }
    }
}

impl FileSystem for ConfinedFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let real = self.roots.check(path)?;
        DiskFs.read(&real)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.roots.check(path).is_ok_and(|p| p.is_dir())
    }
    fn is_file(&self, path: &Path) -> bool {
        self.roots.check(path).is_ok_and(|p| p.is_file())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let real = DiskFs.canonicalize(path)?;
        if self.roots.contains(&real) {
            Ok(real)
        } else {
            Err(self.roots.refusal(path))
        }
    }
    fn canonicalize_under(&self, base: &Path, path: &Path) -> io::Result<PathBuf> {
        let real = DiskFs.canonicalize_under(base, path)?;
        if self.roots.contains(&real) {
            Ok(real)
        } else {
            Err(self.roots.refusal(path))
        }
    }
}

/// A remote-base loader whose fetched trees become readable roots.
pub struct ConfinedRemote {
    inner: Arc<dyn RemoteLoader + Send + Sync>,
    roots: Roots,
}

impl ConfinedRemote {
    /// Fetches through `inner` and adds each fetched tree to `roots`.
    pub fn new(inner: Arc<dyn RemoteLoader + Send + Sync>, roots: Roots) -> Self {
        ConfinedRemote { inner, roots }
    }
}

impl RemoteLoader for ConfinedRemote {
    fn fetch(&self, spec: &RemoteSpec) -> Result<PathBuf, String> {
        let dir = self.inner.fetch(spec)?;
        self.roots.add(&dir);
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_checkout_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let checkout = tmp.path().join("trees/aaa");
        let other = tmp.path().join("trees/bbb");
        std::fs::create_dir_all(checkout.join("app")).expect("mkdir");
        std::fs::create_dir_all(&other).expect("mkdir");
        std::fs::write(other.join("secret.yaml"), "x").expect("write");
        std::fs::write(checkout.join("app/a.yaml"), "x").expect("write");
        let fs = ConfinedFs::new(Roots::new(&checkout));
        assert!(fs.read(&checkout.join("app/a.yaml")).is_ok());
        assert!(fs.read(&checkout.join("app/../app/a.yaml")).is_ok());
        let err = fs
            .read(&checkout.join("app/../../bbb/secret.yaml"))
            .expect_err("outside");
        assert!(err.to_string().contains(RULE), "{err}");
        assert!(!fs.is_dir(&checkout.join("..")));
        assert!(fs.canonicalize(&other).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let checkout = tmp.path().join("co");
        std::fs::create_dir_all(&checkout).expect("mkdir");
        std::fs::write(tmp.path().join("outside.yaml"), "x").expect("write");
        std::os::unix::fs::symlink(tmp.path().join("outside.yaml"), checkout.join("in.yaml")).expect("link");
        let fs = ConfinedFs::new(Roots::new(&checkout));
        assert!(fs.read(&checkout.join("in.yaml")).is_err());
        assert!(!fs.is_file(&checkout.join("in.yaml")));
    }
}
