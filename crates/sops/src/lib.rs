//! SOPS-encrypted files, decrypted with age identities.
//!
//! [SOPS](https://getsops.io) keeps a YAML, JSON or dotenv file's structure in the clear and encrypts its
//! values: each becomes `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str|int|float|bool|bytes]`, encrypted with
//! one random 32-byte data key under AES-256-GCM, with the value's key path (`data:password:`) as
//! additional authenticated data. The file's `sops` metadata block holds the data key encrypted for each
//! recipient (tack reads the `age` recipients), `lastmodified`, the rules that chose which values are
//! encrypted (`encrypted_regex`, `unencrypted_suffix`, …), and the MAC: a SHA-512 over every plaintext value
//! in file order, itself encrypted with the data key and `lastmodified` as additional data.
//!
//! [`decrypt`] parses the file ([`Format`]), unwraps the data key with the given [`Identities`], decrypts
//! every value the rules name, verifies the MAC exactly as `sops -d` does, and returns the [`Plaintext`].
//! PGP, cloud KMS, Vault and Shamir key groups are refused with an error that says so.
//!
//! The crate is pure: it reads nothing but its arguments. No error and no `Debug` output contains a
//! decrypted value or a private key; [`Plaintext`] has neither `Debug` nor `Display`.
//!
//! ```no_run
//! # fn main() -> Result<(), tack_sops::SopsError> {
//! let key_file = std::fs::read_to_string("age.agekey").unwrap();
//! let file = std::fs::read_to_string("secret.enc.yaml").unwrap();
//! let ids = tack_sops::Identities::parse(&key_file, "age.agekey")?;
//! if tack_sops::is_encrypted(&file, tack_sops::Format::Yaml) {
//!     let plain = tack_sops::decrypt(&file, tack_sops::Format::Yaml, &ids)?;
//!     let objects = plain.into_documents();
//! #   let _ = objects;
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod cipher;
mod dotenv;
mod error;
mod keys;
mod metadata;
mod tree;
mod walk;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod oracle_tests;

use std::path::Path;

use serde_json::Value;

pub use error::SopsError;
pub use keys::Identities;

use tree::Node;

/// The key holding SOPS's metadata at the top of each document.
const METADATA_KEY: &str = "sops";

/// A SOPS file's format, which decides how it is parsed (and how SOPS itself walked it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML, one or more documents (the metadata is read from the first).
    Yaml,
    /// One JSON value.
    Json,
    /// `KEY=VALUE` lines, metadata in `sops_…` keys.
    Dotenv,
}

impl Format {
    /// The format SOPS would pick for a file name: `.json` JSON, `.env` dotenv, anything else YAML.
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("env") => Format::Dotenv,
            _ => Format::Yaml,
        }
    }
}

/// A decrypted file. It implements neither `Debug` nor `Display`: the values leave it only through the
/// accessors, into code that decides where they go.
pub struct Plaintext {
    documents: Vec<Value>,
    format: Format,
}

impl Plaintext {
    /// The decrypted documents (YAML: one per document; JSON: one; dotenv: one mapping of strings), without
    /// the `sops` metadata.
    pub fn documents(&self) -> &[Value] {
        &self.documents
    }

    /// The decrypted documents, by value.
    pub fn into_documents(self) -> Vec<Value> {
        self.documents
    }

    /// The decrypted file as text in its own format (YAML documents as `kubectl` prints them, JSON
    /// indented, dotenv `KEY=VALUE` lines with newlines written `\n`), for engines that read text.
    pub fn to_text(&self) -> String {
        match self.format {
            Format::Yaml => tack_yaml::to_yaml_stream(self.documents.iter()),
            Format::Json => self
                .documents
                .first()
                .map(|d| serde_json::to_string_pretty(d).unwrap_or_default() + "\n")
                .unwrap_or_default(),
            Format::Dotenv => {
                let mut out = String::new();
                if let Some(Value::Object(m)) = self.documents.first() {
                    for (k, v) in m {
                        let v = v.as_str().unwrap_or_default().replace('\n', "\\n");
                        out.push_str(&format!("{k}={v}\n"));
                    }
                }
                out
            }
        }
    }
}

/// Whether `text` is a SOPS-encrypted file of `format`: its (first) document has a `sops` mapping holding
/// any of SOPS's metadata keys (`mac`, `lastmodified`, `version`, a key service). A file with a damaged
/// metadata block is still encrypted: [`decrypt`] then says what is wrong, so that its `ENC[...]` values are
/// never taken for plain text. Cheap for files that do not mention `sops` at all.
pub fn is_encrypted(text: &str, format: Format) -> bool {
    const KEYS: [&str; 11] = [
        "mac",
        "lastmodified",
        "version",
        "age",
        "pgp",
        "kms",
        "gcp_kms",
        "azure_kv",
        "hc_vault",
        "hckms",
        "key_groups",
    ];
    if !text.contains("sops") {
        return false;
    }
    match split(text, format) {
        Ok((_, Some(meta))) => KEYS.iter().any(|k| meta.get(k).is_some()),
        _ => false,
    }
}

/// The documents with the metadata removed, and the metadata (from the first document).
fn split(text: &str, format: Format) -> Result<(Vec<Node>, Option<Node>), SopsError> {
    let mut docs = match format {
        Format::Yaml => tree::parse_yaml(text)?,
        Format::Json => vec![tree::parse_json(text)?],
        Format::Dotenv => {
            let (data, meta) = dotenv::parse(text)?;
            return Ok((vec![data], meta));
        }
    };
    let mut meta = None;
    for (i, doc) in docs.iter_mut().enumerate() {
        if let Node::Map(entries) = doc
            && let Some(pos) = entries.iter().position(|(k, _)| k == METADATA_KEY)
        {
            let (_, m) = entries.remove(pos);
            if i == 0 {
                meta = Some(m);
            }
        }
    }
    Ok((docs, meta))
}

/// Decrypts a SOPS file: unwraps the data key with one of `ids`, decrypts every encrypted value, and
/// verifies the MAC. Errors name key paths and recipients, never values.
pub fn decrypt(text: &str, format: Format, ids: &Identities) -> Result<Plaintext, SopsError> {
    let (docs, meta) = split(text, format)?;
    let meta = meta.ok_or(SopsError::NotEncrypted)?;
    let meta = metadata::read(&meta)?;
    let key = keys::data_key(&meta.age, ids)?;
    let mut walk = walk::Walk::new(&key, &meta.rules);
    let mut plain = Vec::with_capacity(docs.len());
    for doc in docs {
        if !matches!(doc, Node::Map(_)) {
            return Err(SopsError::Syntax {
                message: "a SOPS document must be a mapping at the top".into(),
            });
        }
        plain.push(walk.document(doc)?);
    }
    let computed = walk.mac();
    match cipher::decrypt(&meta.mac, &key, &meta.last_modified) {
        Ok(cipher::Plain::Value(Node::Str(stored))) if stored == computed => {}
        _ => return Err(SopsError::MacMismatch),
    }
    Ok(Plaintext {
        documents: plain.into_iter().map(Node::into_json).collect(),
        format,
    })
}
