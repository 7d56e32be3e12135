//! SOPS decryption during rendering: a YAML, JSON or dotenv file holding SOPS metadata is decrypted in memory
//! as it is read (plain manifests, Kustomize resources and generator inputs, Helm values files), with the
//! age identities of [`RenderOptions::decrypt`]. Nothing decrypted is written to disk. An encrypted file
//! without identities is an error: applying `ENC[...]` strings would be wrong in every case.

use std::io;
use std::path::{Path, PathBuf};

use tack_kustomize::FileSystem;
use tack_sops::{Format, Identities};

use crate::RenderOptions;

/// The message when an encrypted file meets no identities.
const NO_KEYS: &str = "the file is SOPS-encrypted, but no age key was given to decrypt it: set the \
    application's spec.decryption (provider sops, secretRef naming a Secret with *.agekey entries), or give \
    `tack render --decrypt-key FILE`";

/// `text` decrypted when it is a SOPS file (its format by `path`'s extension), `None` when it is not.
/// Errors name no value.
pub(crate) fn decrypt_text(path: &Path, text: &str, opts: &RenderOptions) -> Result<Option<String>, String> {
    decrypt_with(path, text, opts.decrypt.as_deref())
}

fn decrypt_with(path: &Path, text: &str, ids: Option<&Identities>) -> Result<Option<String>, String> {
    let format = Format::of_path(path);
    if !tack_sops::is_encrypted(text, format) {
        return Ok(None);
    }
    let ids = ids.ok_or_else(|| NO_KEYS.to_string())?;
    tack_sops::decrypt(text, format, ids)
        .map(|plain| Some(plain.to_text()))
        .map_err(|e| format!("SOPS decryption failed: {e}"))
}

/// A file's bytes decrypted when they are a SOPS file, `None` when they are not.
pub(crate) fn decrypted_bytes(
    path: &Path,
    bytes: &[u8],
    ids: Option<&Identities>,
) -> io::Result<Option<Vec<u8>>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    decrypt_with(path, text, ids)
        .map(|plain| plain.map(String::into_bytes))
        // PermissionDenied: the engines keep the reason of a refused read (and this is one) in their errors.
        .map_err(|message| io::Error::new(io::ErrorKind::PermissionDenied, message))
}

/// A [`FileSystem`] that decrypts SOPS files as they are read (Kustomize's view of a source).
pub(crate) struct DecryptingFs<'a> {
    pub(crate) inner: &'a dyn FileSystem,
    pub(crate) ids: Option<&'a Identities>,
}

impl FileSystem for DecryptingFs<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let bytes = self.inner.read(path)?;
        Ok(decrypted_bytes(path, &bytes, self.ids)?.unwrap_or(bytes))
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.inner.is_file(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn canonicalize_under(&self, base: &Path, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize_under(base, path)
    }
}
