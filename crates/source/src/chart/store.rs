//! The chart cache: archives kept by their SHA-256 under `<cache>/charts/sha256/<hex>.tgz`, and OCI manifests
//! under `<cache>/charts/manifests/sha256/<hex>.json`. Files are written atomically (temporary file and
//! rename) and are content-addressed, so a file present is complete and never changes.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ChartError;

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hexadecimal part of a `sha256:<hex>` (or bare hex) digest, if it is one.
pub fn hex_of(digest: &str) -> Option<String> {
    let h = digest
        .strip_prefix("sha256:")
        .unwrap_or(digest)
        .to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}

/// The chart cache under a cache directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(cache_dir: &Path) -> Store {
        Store {
            root: cache_dir.join("charts"),
        }
    }

    /// Where the archive of digest `hex` is kept.
    pub fn archive_path(&self, hex: &str) -> PathBuf {
        self.root.join("sha256").join(format!("{hex}.tgz"))
    }

    fn manifest_path(&self, hex: &str) -> PathBuf {
        self.root
            .join("manifests")
            .join("sha256")
            .join(format!("{hex}.json"))
    }

    /// The cached archive of `hex`, if present.
    pub fn archive(&self, hex: &str) -> Option<PathBuf> {
        let p = self.archive_path(hex);
        p.is_file().then_some(p)
    }

    /// Keeps `bytes` (whose digest is `hex`) and returns its path.
    pub fn put_archive(&self, hex: &str, bytes: &[u8]) -> Result<PathBuf, ChartError> {
        let p = self.archive_path(hex);
        write_atomic(&p, bytes)?;
        Ok(p)
    }

    /// A cached OCI manifest whose bytes still have digest `hex`.
    pub fn manifest(&self, hex: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.manifest_path(hex)).ok()?;
        (hex_of(&sha256(&bytes)).as_deref() == Some(hex)).then_some(bytes)
    }

    pub fn put_manifest(&self, hex: &str, bytes: &[u8]) -> Result<(), ChartError> {
        write_atomic(&self.manifest_path(hex), bytes)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ChartError> {
    let cache_err = |source| ChartError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(cache_err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(cache_err)?;
    tmp.write_all(bytes).map_err(cache_err)?;
    tmp.as_file().sync_all().map_err(cache_err)?;
    tmp.persist(path).map_err(|e| cache_err(e.error))?;
    Ok(())
}
