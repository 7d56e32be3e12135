//! The `sops` metadata block: the data key's stanzas, `lastmodified`, the encrypted MAC and the rules that
//! say which values are encrypted.

use regex::Regex;

use crate::error::SopsError;
use crate::keys::AgeStanza;
use crate::tree::Node;

/// The key services SOPS can encrypt a data key for besides age, as the metadata names them.
const OTHER_PROVIDERS: [(&str, &str); 6] = [
    ("pgp", "PGP"),
    ("kms", "AWS KMS"),
    ("gcp_kms", "GCP KMS"),
    ("azure_kv", "Azure Key Vault"),
    ("hc_vault", "HashiCorp Vault"),
    ("hckms", "Huawei Cloud KMS"),
];

/// What tack reads of the metadata.
pub(crate) struct Metadata {
    pub(crate) age: Vec<AgeStanza>,
    /// `lastmodified` as SOPS re-formats it for the MAC's additional data (Go's RFC 3339, whole seconds).
    pub(crate) last_modified: String,
    pub(crate) mac: String,
    pub(crate) rules: Rules,
}

/// Which values are encrypted (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`,
/// `encrypted_regex`) and whether the MAC covers only them (`mac_only_encrypted`).
#[derive(Default)]
pub(crate) struct Rules {
    pub(crate) unencrypted_suffix: Option<String>,
    pub(crate) encrypted_suffix: Option<String>,
    pub(crate) unencrypted_regex: Option<Regex>,
    pub(crate) encrypted_regex: Option<Regex>,
    pub(crate) mac_only_encrypted: bool,
}

impl Rules {
    /// SOPS's `shouldBeEncrypted` for a value at `path` (map keys from the root; list items add none).
    pub(crate) fn encrypted(&self, path: &[String]) -> bool {
        let mut encrypted = true;
        if let Some(s) = &self.unencrypted_suffix
            && path.iter().any(|p| p.ends_with(s.as_str()))
        {
            encrypted = false;
        }
        if let Some(s) = &self.encrypted_suffix {
            encrypted = path.iter().any(|p| p.ends_with(s.as_str()));
        }
        if let Some(r) = &self.unencrypted_regex
            && path.iter().any(|p| r.is_match(p))
        {
            encrypted = false;
        }
        if let Some(r) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| r.is_match(p));
        }
        encrypted
    }
}

fn meta_err(message: impl Into<String>) -> SopsError {
    SopsError::Metadata {
        message: message.into(),
    }
}

/// A string field; absent or empty gives `None`.
fn string_field(sops: &Node, key: &str) -> Result<Option<String>, SopsError> {
    match sops.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(s)) if s.is_empty() => Ok(None),
        Some(Node::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(meta_err(format!("`{key}` is not a string"))),
    }
}

fn regex_field(sops: &Node, key: &str) -> Result<Option<Regex>, SopsError> {
    string_field(sops, key)?
        .map(|r| {
            Regex::new(&r).map_err(|e| meta_err(format!("`{key}` is not a valid regular expression: {e}")))
        })
        .transpose()
}

/// A non-empty list field (absent, null and `[]` count as missing).
fn has_entries(node: &Node, key: &str) -> bool {
    matches!(node.get(key), Some(Node::Seq(items)) if !items.is_empty())
}

fn age_stanzas(node: &Node, out: &mut Vec<AgeStanza>) -> Result<(), SopsError> {
    let Some(Node::Seq(items)) = node.get("age") else {
        return Ok(());
    };
    for item in items {
        let field = |k: &str| match item.get(k) {
            Some(Node::Str(s)) => Ok(s.clone()),
            _ => Err(meta_err(format!("an `age` entry has no `{k}` string"))),
        };
        out.push(AgeStanza {
            recipient: field("recipient")?,
            enc: field("enc")?,
        });
    }
    Ok(())
}

/// Reads the metadata block.
pub(crate) fn read(sops: &Node) -> Result<Metadata, SopsError> {
    if !matches!(sops, Node::Map(_)) {
        return Err(meta_err("`sops` is not a mapping"));
    }
    for key in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
        if string_field(sops, key)?.is_some() {
            return Err(SopsError::Unsupported {
                what: format!(
                    "`{key}` (comments are not kept by tack, so their encryption cannot be checked)"
                ),
            });
        }
    }
    let mut age = Vec::new();
    age_stanzas(sops, &mut age)?;
    let mut groups: Vec<&Node> = vec![sops];
    if let Some(Node::Seq(key_groups)) = sops.get("key_groups") {
        if key_groups.len() > 1 {
            return Err(SopsError::Unsupported {
                what: format!(
                    "{} key groups (Shamir secret sharing); encrypt with one group of age recipients",
                    key_groups.len()
                ),
            });
        }
        for g in key_groups {
            age_stanzas(g, &mut age)?;
            groups.push(g);
        }
    }
    if age.is_empty() {
        let providers: Vec<&str> = OTHER_PROVIDERS
            .iter()
            .filter(|(k, _)| groups.iter().any(|g| has_entries(g, k)))
            .map(|(_, name)| *name)
            .collect();
        return Err(SopsError::NoAgeRecipient {
            providers: if providers.is_empty() {
                "no key service at all".to_string()
            } else {
                providers.join(", ")
            },
        });
    }
    let last_modified =
        string_field(sops, "lastmodified")?.ok_or_else(|| meta_err("`lastmodified` is missing"))?;
    let mac = string_field(sops, "mac")?.ok_or_else(|| meta_err("`mac` is missing"))?;
    let rules = Rules {
        unencrypted_suffix: string_field(sops, "unencrypted_suffix")?,
        encrypted_suffix: string_field(sops, "encrypted_suffix")?,
        unencrypted_regex: regex_field(sops, "unencrypted_regex")?,
        encrypted_regex: regex_field(sops, "encrypted_regex")?,
        mac_only_encrypted: matches!(sops.get("mac_only_encrypted"), Some(Node::Bool(true))),
    };
    Ok(Metadata {
        age,
        last_modified: go_rfc3339(&last_modified)?,
        mac,
        rules,
    })
}

/// `lastmodified` as Go's `time.Parse(time.RFC3339, s).Format(time.RFC3339)` prints it: fractional seconds
/// dropped, a zero offset written `Z`.
fn go_rfc3339(s: &str) -> Result<String, SopsError> {
    let bad = || meta_err("`lastmodified` is not an RFC 3339 time");
    let b = s.as_bytes();
    if b.len() < 20 || b.get(10) != Some(&b'T') || b.get(4) != Some(&b'-') || b.get(13) != Some(&b':') {
        return Err(bad());
    }
    let (head, mut rest) = s.split_at(19);
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let zone = match rest {
        "Z" | "z" | "+00:00" | "-00:00" => "Z",
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => z,
        _ => return Err(bad()),
    };
    Ok(format!("{head}{zone}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_normalised_as_go_does() {
        assert_eq!(
            go_rfc3339("2024-05-01T10:00:00Z").unwrap(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            go_rfc3339("2024-05-01T10:00:00.123Z").unwrap(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            go_rfc3339("2024-05-01T10:00:00+00:00").unwrap(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            go_rfc3339("2024-05-01T10:00:00+02:00").unwrap(),
            "2024-05-01T10:00:00+02:00"
        );
        assert!(go_rfc3339("yesterday").is_err());
    }

    #[test]
    fn rules_follow_sops() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let r = Rules {
            unencrypted_suffix: Some("_unencrypted".into()),
            ..Default::default()
        };
        assert!(r.encrypted(&p(&["a", "b"])));
        assert!(!r.encrypted(&p(&["a_unencrypted", "b"])));
        let r = Rules {
            encrypted_regex: Some(Regex::new("^(data|stringData)$").unwrap()),
            ..Default::default()
        };
        assert!(r.encrypted(&p(&["data", "password"])));
        assert!(!r.encrypted(&p(&["metadata", "name"])));
    }
}
