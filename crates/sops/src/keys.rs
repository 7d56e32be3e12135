//! age identities and the data key: SOPS encrypts the file's 32-byte data key to each age recipient as an
//! armored age file (the `enc` of an entry under `sops.age`).

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use age::x25519;

use crate::cipher::DataKey;
use crate::error::SopsError;

/// The age X25519 identities (private keys) that may open a file's data key. Its `Debug` shows the public
/// keys only.
#[derive(Clone, Default)]
pub struct Identities {
    keys: Vec<x25519::Identity>,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("recipients", &self.recipients())
            .finish()
    }
}

impl Identities {
    /// No identities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads an age identity file (what `age-keygen` writes, and what a Flux `*.agekey` Secret entry
    /// holds): one `AGE-SECRET-KEY-1…` per line, blank lines and `#` comments skipped. `source_name` names
    /// the file or Secret key in errors. Errors never contain key material.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, SopsError> {
        let mut ids = Self::new();
        ids.add(text, source_name)?;
        Ok(ids)
    }

    /// Adds the identities of another identity file (see [`Identities::parse`]).
    pub fn add(&mut self, text: &str, source_name: &str) -> Result<(), SopsError> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let reason = if line.starts_with("AGE-PLUGIN-") {
                Some("age plugin identities are not supported".to_string())
            } else if line.starts_with("-----BEGIN") {
                Some("SSH and PGP keys are not supported; give an age X25519 identity".to_string())
            } else {
                x25519::Identity::from_str(line)
                    .map(|id| self.keys.push(id))
                    .err()
                    .map(|e| format!("not an age X25519 identity ({e})"))
            };
            if let Some(reason) = reason {
                return Err(SopsError::Identity {
                    source_name: source_name.to_string(),
                    line: i + 1,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// How many identities there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys (`age1…`) of the identities.
    pub fn recipients(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.to_public().to_string()).collect()
    }

    /// Opens one `enc` stanza (an armored age file holding the data key).
    fn open(&self, enc: &str) -> Result<Option<DataKey>, String> {
        let reader = age::armor::ArmoredReader::new(enc.trim().as_bytes());
        let decryptor = age::Decryptor::new(reader).map_err(|e| e.to_string())?;
        let identities = self.keys.iter().map(|k| k as &dyn age::Identity);
        let mut stream = match decryptor.decrypt(identities) {
            Ok(s) => s,
            Err(age::DecryptError::NoMatchingKeys) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(32));
        stream
            .read_to_end(&mut plain)
            .map_err(|e| format!("the age payload cannot be read ({e})"))?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| format!("the data key is {} bytes, not 32", plain.len()))?;
        Ok(Some(zeroize::Zeroizing::new(key)))
    }
}

/// One age entry of the metadata: the recipient and its encrypted data key.
pub(crate) struct AgeStanza {
    pub(crate) recipient: String,
    pub(crate) enc: String,
}

/// The data key, from the first stanza one of `ids` opens. A broken stanza does not stop the others from
/// being tried; it is reported when none opens.
pub(crate) fn data_key(stanzas: &[AgeStanza], ids: &Identities) -> Result<DataKey, SopsError> {
    if ids.is_empty() {
        return Err(SopsError::NoIdentity);
    }
    let mut broken = None;
    for s in stanzas {
        match ids.open(&s.enc) {
            Ok(Some(key)) => return Ok(key),
            Ok(None) => {}
            Err(message) => {
                broken.get_or_insert(SopsError::DataKey {
                    recipient: s.recipient.clone(),
                    message,
                });
            }
        }
    }
    Err(broken.unwrap_or_else(|| SopsError::NoMatchingIdentity {
        recipients: stanzas
            .iter()
            .map(|s| s.recipient.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_identity_file() {
        let id = x25519::Identity::generate();
        let secret = id.to_string();
        let text = format!(
            "# created: now\n# public key: {}\n{}\n",
            id.to_public(),
            age::secrecy::ExposeSecret::expose_secret(&secret)
        );
        let ids = Identities::parse(&text, "keys.txt").unwrap();
        assert_eq!(ids.recipients(), vec![id.to_public().to_string()]);
        let dbg = format!("{ids:?}");
        assert!(!dbg.contains("AGE-SECRET-KEY"), "{dbg}");
    }

    #[test]
    fn bad_identity_names_the_line_not_the_key() {
        let e = Identities::parse("\nAGE-SECRET-KEY-1NOTAKEY\n", "k.agekey").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("line 2 of k.agekey") && !msg.contains("NOTAKEY"),
            "{msg}"
        );
    }
}
