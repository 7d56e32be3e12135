//! SOPS's value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with a 32-byte IV, the value's
//! key path (`a:b:c:`) as additional authenticated data, and a type that says how the plaintext is read back.

use aes_gcm::AesGcm;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::generic_array::typenum::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::tree::Node;

/// AES-256-GCM with SOPS's 32-byte nonce.
type SopsGcm = AesGcm<Aes256, U32>;

/// The data key that encrypts every value of a file.
pub(crate) type DataKey = zeroize::Zeroizing<[u8; 32]>;

/// A decrypted value: a tree node, or a comment (SOPS encrypts comments too; tack drops them).
pub(crate) enum Plain {
    Value(Node),
    Comment,
}

/// The parts of an `ENC[...]` string.
struct Encrypted {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    kind: String,
}

/// Splits `ENC[AES256_GCM,data:D,iv:I,tag:T,type:K]` as SOPS's regular expression
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` does (greedy groups, trailing text ignored).
fn parse(value: &str) -> Result<Encrypted, String> {
    let bad = || "not a SOPS encrypted value (ENC[AES256_GCM,data:…,iv:…,tag:…,type:…])".to_string();
    let rest = value.strip_prefix("ENC[AES256_GCM,data:").ok_or_else(bad)?;
    let close = rest.rfind(']').ok_or_else(bad)?;
    let rest = &rest[..close];
    let (rest, kind) = rest.rsplit_once(",type:").ok_or_else(bad)?;
    let (rest, tag) = rest.rsplit_once(",tag:").ok_or_else(bad)?;
    let (data, iv) = rest.rsplit_once(",iv:").ok_or_else(bad)?;
    if data.is_empty() || iv.is_empty() || tag.is_empty() || kind.is_empty() {
        return Err(bad());
    }
    let b64 = |what: &str, s: &str| {
        STANDARD
            .decode(s)
            .map_err(|_| format!("its {what} is not valid base64"))
    };
    Ok(Encrypted {
        data: b64("data", data)?,
        iv: b64("iv", iv)?,
        tag: b64("tag", tag)?,
        kind: kind.to_string(),
    })
}

/// Decrypts one value with the data key; `aad` is the key path as SOPS joins it (`a:b:c:`). An empty string
/// is SOPS's encryption of an empty value. Errors never contain the plaintext.
pub(crate) fn decrypt(value: &str, key: &DataKey, aad: &str) -> Result<Plain, String> {
    if value.is_empty() {
        return Ok(Plain::Value(Node::Str(String::new())));
    }
    let enc = parse(value)?;
    if enc.iv.len() != 32 {
        return Err(format!("its IV is {} bytes; SOPS uses 32-byte IVs", enc.iv.len()));
    }
    if enc.tag.len() != 16 {
        return Err(format!("its tag is {} bytes, not 16", enc.tag.len()));
    }
    let cipher = SopsGcm::new(GenericArray::from_slice(key.as_slice()));
    let mut sealed = enc.data;
    sealed.extend_from_slice(&enc.tag);
    let plain = zeroize::Zeroizing::new(
        cipher
            .decrypt(
                GenericArray::from_slice(&enc.iv),
                Payload {
                    msg: &sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| {
                "AES-GCM authentication failed (wrong data key, or the value or its key path was changed)"
                    .to_string()
            })?,
    );
    typed(&plain, &enc.kind)
}

/// Reads decrypted bytes back as SOPS's `type:` says.
fn typed(plain: &[u8], kind: &str) -> Result<Plain, String> {
    let text = || std::str::from_utf8(plain).map_err(|_| format!("its {kind} plaintext is not UTF-8"));
    let node = match kind {
        "str" | "time" => Node::Str(text()?.to_string()),
        "bytes" => Node::Str(String::from_utf8_lossy(plain).into_owned()),
        "int" => Node::Int(
            text()?
                .parse::<i64>()
                .map_err(|_| "it is typed int but does not decrypt to an integer".to_string())?,
        ),
        "float" => Node::Float(
            text()?
                .parse::<f64>()
                .map_err(|_| "it is typed float but does not decrypt to a number".to_string())?,
        ),
        "bool" => Node::Bool(
            go_parse_bool(text()?)
                .ok_or_else(|| "it is typed bool but does not decrypt to a boolean".to_string())?,
        ),
        "comment" => return Ok(Plain::Comment),
        other => return Err(format!("unknown value type `{other}`")),
    };
    Ok(Plain::Value(node))
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn encrypt_for_tests(plain: &[u8], kind: &str, key: &DataKey, iv: [u8; 32], aad: &str) -> String {
    let cipher = SopsGcm::new(GenericArray::from_slice(key.as_slice()));
    let out = cipher
        .encrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let (data, tag) = out.split_at(out.len() - 16);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        zeroize::Zeroizing::new([7u8; 32])
    }

    #[test]
    fn round_trip_types() {
        let k = key();
        for (plain, kind) in [
            ("hello", "str"),
            ("42", "int"),
            ("1.5", "float"),
            ("True", "bool"),
        ] {
            let enc = encrypt_for_tests(plain.as_bytes(), kind, &k, [1; 32], "a:b:");
            let Plain::Value(n) = decrypt(&enc, &k, "a:b:").unwrap() else {
                panic!()
            };
            match kind {
                "str" => assert!(matches!(n, Node::Str(s) if s == "hello")),
                "int" => assert!(matches!(n, Node::Int(42))),
                "float" => assert!(matches!(n, Node::Float(f) if f == 1.5)),
                _ => assert!(matches!(n, Node::Bool(true))),
            }
        }
    }

    #[test]
    fn wrong_path_or_key_fails_without_plaintext() {
        let k = key();
        let enc = encrypt_for_tests(b"s3cr3t-value", "str", &k, [1; 32], "a:b:");
        let e = decrypt(&enc, &k, "a:c:").err().unwrap();
        assert!(
            e.contains("authentication failed") && !e.contains("s3cr3t"),
            "{e}"
        );
        let other = zeroize::Zeroizing::new([8u8; 32]);
        assert!(decrypt(&enc, &other, "a:b:").is_err());
    }

    #[test]
    fn malformed_values() {
        let k = key();
        assert!(decrypt("ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]", &k, "").is_err());
        assert!(decrypt("plain", &k, "").is_err());
        assert!(matches!(decrypt("", &k, "").unwrap(), Plain::Value(Node::Str(s)) if s.is_empty()));
    }
}
