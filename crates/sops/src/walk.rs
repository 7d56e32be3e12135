//! Decrypting a tree: SOPS's walk over every value in file order, decrypting those its rules say are
//! encrypted (with the value's key path as additional data) and hashing every plaintext value for the MAC.

use sha2::{Digest, Sha512};

use crate::cipher::{self, DataKey, Plain};
use crate::error::SopsError;
use crate::metadata::Rules;
use crate::tree::Node;

/// Bytes SOPS hashes first when `mac_only_encrypted` is set, so that such a MAC never equals a full one.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b,
    0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// The state of one file's decryption.
pub(crate) struct Walk<'a> {
    key: &'a DataKey,
    rules: &'a Rules,
    hash: Sha512,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(key: &'a DataKey, rules: &'a Rules) -> Self {
        let mut hash = Sha512::new();
        if rules.mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Walk { key, rules, hash }
    }

    /// The MAC over everything walked so far, as SOPS prints it (upper-case hex SHA-512).
    pub(crate) fn mac(self) -> String {
        self.hash.finalize().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// A document's root (a mapping) with its values decrypted.
    pub(crate) fn document(&mut self, root: Node) -> Result<Node, SopsError> {
        let mut path = Vec::new();
        Ok(self.node(root, &mut path)?.unwrap_or(Node::Null))
    }

    /// A node with its values decrypted; `None` for a value that decrypts to a comment (dropped).
    fn node(&mut self, node: Node, path: &mut Vec<String>) -> Result<Option<Node>, SopsError> {
        match node {
            Node::Null => Ok(Some(Node::Null)),
            Node::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    path.push(k);
                    let r = self.node(v, path);
                    let k = path.pop().unwrap_or_default();
                    if let Some(v) = r? {
                        out.push((k, v));
                    }
                }
                Ok(Some(Node::Map(out)))
            }
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    if let Some(v) = self.node(v, path)? {
                        out.push(v);
                    }
                }
                Ok(Some(Node::Seq(out)))
            }
            leaf => self.leaf(leaf, path),
        }
    }

    fn leaf(&mut self, leaf: Node, path: &[String]) -> Result<Option<Node>, SopsError> {
        let encrypted = self.rules.encrypted(path);
        let value = if encrypted {
            let Node::Str(text) = &leaf else {
                return Err(SopsError::Value {
                    path: path.join(":"),
                    reason: "SOPS's rules say it is encrypted, but it is not an ENC[...] string".into(),
                });
            };
            let aad = format!("{}:", path.join(":"));
            match cipher::decrypt(text, self.key, &aad) {
                Ok(Plain::Value(v)) => v,
                Ok(Plain::Comment) => return Ok(None),
                Err(reason) => {
                    return Err(SopsError::Value {
                        path: path.join(":"),
                        reason,
                    });
                }
            }
        } else {
            leaf
        };
        if encrypted || !self.rules.mac_only_encrypted {
            self.hash.update(mac_bytes(&value));
        }
        Ok(Some(value))
    }
}

/// SOPS's `ToBytes`: what a plaintext value contributes to the MAC.
fn mac_bytes(v: &Node) -> Vec<u8> {
    match v {
        Node::Str(s) => s.as_bytes().to_vec(),
        Node::Int(i) => i.to_string().into_bytes(),
        Node::Float(f) => go_format_float(*f).into_bytes(),
        Node::Bool(true) => b"True".to_vec(),
        Node::Bool(false) => b"False".to_vec(),
        Node::Null | Node::Seq(_) | Node::Map(_) => Vec::new(),
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal that reads back as `f`, never with an
/// exponent.
fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_formats_them() {
        assert_eq!(go_format_float(1.0), "1");
        assert_eq!(go_format_float(0.1), "0.1");
        assert_eq!(go_format_float(1e21), "1000000000000000000000");
        assert_eq!(go_format_float(1.5e-7), "0.00000015");
        assert_eq!(go_format_float(f64::INFINITY), "+Inf");
    }
}
