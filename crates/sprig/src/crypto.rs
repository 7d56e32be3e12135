//! Cryptographic functions: `bcrypt`, `htpasswd`, `derivePassword` (Master Password), `encryptAES` /
//! `decryptAES` (AES-256-CBC, as Sprig), `genPrivateKey`, and certificates (`genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `WithKey` forms and `buildCustomCert`), whose results are `sprig.certificate`
//! values with `Cert` and `Key` fields.

use std::rc::Rc;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use hmac::Mac as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::EncodePrivateKey;
use tack_gotemplate::{FuncError, Funcs, Object, Value};

use crate::Env;
use crate::convert::{arity, int_arg, str_arg, type_name};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A `sprig.certificate`: PEM certificate and key.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::string(self.cert.clone())),
            "Key" => Some(Value::string(self.key.clone())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = std::collections::BTreeMap::new();
        m.insert("Cert".to_string(), Value::string(self.cert.clone()));
        m.insert("Key".to_string(), Value::string(self.key.clone()));
        Some(Value::map(m))
    }
}

fn cert_value(c: Certificate) -> Value {
    Value::Object(Rc::new(c))
}

/// A typed `certificate` parameter.
fn cert_arg(v: &Value) -> Result<Certificate, FuncError> {
    match v {
        Value::Object(o) if o.type_name() == "sprig.certificate" => {
            let get = |f: &str| match o.field(f) {
                Some(Value::String(s)) => s.to_string(),
                _ => String::new(),
            };
            Ok(Certificate {
                cert: get("Cert"),
                key: get("Key"),
            })
        }
        other => Err(FuncError::new(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            if matches!(other, Value::Nil) {
                "interface {}".into()
            } else {
                type_name(other)
            }
        ))),
    }
}

/// bcrypt with Go's default cost (10), `$2a$` form.
pub fn bcrypt_hash(input: &str) -> String {
    match bcrypt::hash_with_result(input, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

pub fn register(funcs: &mut Funcs, env: &Env) {
    funcs.insert("bcrypt", |_, a| {
        arity("bcrypt", a, 1)?;
        Ok(Value::string(bcrypt_hash(&str_arg(&a[0])?)))
    });
    funcs.insert("htpasswd", |_, a| {
        arity("htpasswd", a, 2)?;
        let (user, pass) = (str_arg(&a[0])?, str_arg(&a[1])?);
        if user.contains(':') {
            return Ok(Value::string(format!("invalid username: {user}")));
        }
        Ok(Value::string(format!("{user}:{}", bcrypt_hash(&pass))))
    });
    funcs.insert("derivePassword", |_, a| {
        arity("derivePassword", a, 5)?;
        let counter = match &a[0] {
            Value::Int(i) if (0..=i64::from(u32::MAX)).contains(i) => *i as u32,
            other => {
                return Err(FuncError::new(format!(
                    "wrong type for value; expected uint32; got {}",
                    type_name(other)
                )));
            }
        };
        let (kind, password, user, site) =
            (str_arg(&a[1])?, str_arg(&a[2])?, str_arg(&a[3])?, str_arg(&a[4])?);
        Ok(Value::string(derive_password(
            counter, &kind, &password, &user, &site,
        )))
    });
    funcs.insert("encryptAES", |_, a| {
        arity("encryptAES", a, 2)?;
        let (password, plain) = (str_arg(&a[0])?, str_arg(&a[1])?);
        Ok(Value::string(encrypt_aes(&password, &plain)))
    });
    funcs.insert("decryptAES", |_, a| {
        arity("decryptAES", a, 2)?;
        let (password, crypt) = (str_arg(&a[0])?, str_arg(&a[1])?);
        decrypt_aes(&password, &crypt).map(Value::string)
    });
    funcs.insert("genPrivateKey", |_, a| {
        arity("genPrivateKey", a, 1)?;
        gen_private_key(&str_arg(&a[0])?).map(Value::string)
    });
    funcs.insert("buildCustomCert", |_, a| {
        arity("buildCustomCert", a, 2)?;
        build_custom(&str_arg(&a[0])?, &str_arg(&a[1])?).map(cert_value)
    });
    let e = env.clone();
    funcs.insert("genCA", move |_, a| {
        arity("genCA", a, 2)?;
        let (cn, days) = (str_arg(&a[0])?, int_arg(&a[1])?);
        let key = Key::rsa(2048)?;
        certificate(&e, &cn, &[], &[], days, true, key, None).map(cert_value)
    });
    let e = env.clone();
    funcs.insert("genCAWithKey", move |_, a| {
        arity("genCAWithKey", a, 3)?;
        let (cn, days, pem) = (str_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        let key = Key::from_pem(&pem).map_err(|e| FuncError::new(format!("parsing private key: {e}")))?;
        certificate(&e, &cn, &[], &[], days, true, key, None).map(cert_value)
    });
    for (name, with_key, signed) in [
        ("genSelfSignedCert", false, false),
        ("genSelfSignedCertWithKey", true, false),
        ("genSignedCert", false, true),
        ("genSignedCertWithKey", true, true),
    ] {
        let e = env.clone();
        funcs.insert(name, move |_, a| {
            arity(name, a, 4 + usize::from(with_key) + usize::from(signed))?;
            let cn = str_arg(&a[0])?;
            let ips = list_param(&a[1])?;
            let dns = list_param(&a[2])?;
            let days = int_arg(&a[3])?;
            let ca = if signed { Some(cert_arg(&a[4])?) } else { None };
            let key = if with_key {
                let pem = str_arg(&a[a.len() - 1])?;
                Key::from_pem(&pem).map_err(|e| FuncError::new(format!("parsing private key: {e}")))?
            } else {
                Key::rsa(2048)?
            };
            let ips = net_ips(&ips)?;
            let dns = dns_names(&dns)?;
            certificate(&e, &cn, &ips, &dns, days, false, key, ca.as_ref()).map(cert_value)
        });
    }
}

/// A `[]interface{}` parameter that may be nil.
fn list_param(v: &Value) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => Ok(l.as_ref().clone()),
        other => Err(FuncError::new(format!(
            "wrong type for value; expected []interface {{}}; got {}",
            type_name(other)
        ))),
    }
}

fn net_ips(ips: &[Value]) -> Result<Vec<std::net::IpAddr>, FuncError> {
    ips.iter()
        .map(|v| match v {
            Value::String(s) => s
                .parse()
                .map_err(|_| FuncError::new(format!("error parsing ip: {s}"))),
            other => Err(FuncError::new(format!(
                "error parsing ip: {} is not a string",
                crate::convert::fmt_v(other)
            ))),
        })
        .collect()
}

fn dns_names(names: &[Value]) -> Result<Vec<String>, FuncError> {
    names
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.to_string()),
            other => Err(FuncError::new(format!(
                "error processing alternate dns name: {} is not a string",
                crate::convert::fmt_v(other)
            ))),
        })
        .collect()
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static str {
    match c {
        b'V' => "AEIOU",
        b'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => "aeiou",
        b'c' => "bcdfghjklmnpqrstvwxyz",
        b'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => "0123456789",
        b'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Master Password's site password (what Sprig's `derivePassword` computes).
pub fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: bad key".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c).as_bytes();
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let b = password.as_bytes();
    let n = b.len().min(32);
    key[..n].copy_from_slice(&b[..n]);
    key
}

fn encrypt_aes(password: &str, plain: &str) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let mut iv = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let pad = 16 - plain.len() % 16;
    let mut buf = plain.as_bytes().to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let len = buf.len();
    let mut out = iv.to_vec();
    match enc.encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut buf, len) {
        Ok(ct) => out.extend_from_slice(ct),
        Err(_) => return String::new(),
    }
    B64.encode(out)
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, FuncError> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = B64
        .decode(crypt64)
        .map_err(|_| FuncError::new("illegal base64 data at input byte 0"))?;
    if crypt.len() < 16 {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError::new("crypto/cipher: input not full blocks"));
    }
    if body.is_empty() {
        return Err(FuncError::new("runtime error: index out of range [-1]"));
    }
    let mut buf = body.to_vec();
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), iv.into());
    let plain = dec
        .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut buf)
        .map_err(|_| FuncError::new("crypto/cipher: input not full blocks"))?;
    let pad = usize::from(plain[plain.len() - 1]);
    if pad > plain.len() {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    }
    Ok(String::from_utf8_lossy(&plain[..plain.len() - pad]).into_owned())
}

/// A private key: its PKCS#8 DER (for signing) and the PEM Sprig prints.
struct Key {
    pkcs8: Vec<u8>,
    pem: String,
    alg: &'static rcgen::SignatureAlgorithm,
}

fn pem_string(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

impl Key {
    fn rsa(bits: usize) -> Result<Key, FuncError> {
        let key = rsa::RsaPrivateKey::new(&mut rand_core_06::OsRng, bits)
            .map_err(|e| FuncError::new(format!("error generating rsa key: {e}")))?;
        let pkcs1 = key.to_pkcs1_der().map_err(|e| FuncError::new(e.to_string()))?;
        let pkcs8 = key.to_pkcs8_der().map_err(|e| FuncError::new(e.to_string()))?;
        Ok(Key {
            pkcs8: pkcs8.as_bytes().to_vec(),
            pem: pem_string("RSA PRIVATE KEY", pkcs1.as_bytes()),
            alg: &rcgen::PKCS_RSA_SHA256,
        })
    }

    fn ecdsa() -> Result<Key, FuncError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .map_err(|_| FuncError::new("failed to generate private key: ecdsa"))?;
        let pkcs8 = doc.as_ref().to_vec();
        let sec1 =
            pkcs8_inner(&pkcs8).ok_or_else(|| FuncError::new("failed to generate private key: ecdsa"))?;
        Ok(Key {
            pem: pem_string("EC PRIVATE KEY", &sec1),
            pkcs8,
            alg: &rcgen::PKCS_ECDSA_P256_SHA256,
        })
    }

    fn ed25519() -> Result<Key, FuncError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| FuncError::new("failed to generate private key: ed25519"))?;
        let pkcs8 = doc.as_ref().to_vec();
        Ok(Key {
            pem: pem_string("PRIVATE KEY", &pkcs8),
            pkcs8,
            alg: &rcgen::PKCS_ED25519,
        })
    }

    /// Sprig's `parsePrivateKeyPEM`: PKCS#8, PKCS#1 RSA and SEC1 EC keys.
    fn from_pem(text: &str) -> Result<Key, String> {
        let block = pem::parse(text).map_err(|_| "no PEM data in input".to_string())?;
        let tag = block.tag();
        let der = block.contents().to_vec();
        let (pkcs8, alg): (Vec<u8>, &'static rcgen::SignatureAlgorithm) = match tag {
            "PRIVATE KEY" => {
                let kp = rcgen::KeyPair::try_from(der.as_slice())
                    .map_err(|e| format!("decoding PEM as PKCS#8: {e}"))?;
                (der.clone(), kp.algorithm())
            }
            "RSA PRIVATE KEY" => {
                let k = rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| format!("parsing RSA private key from PEM: {e}"))?;
                let p8 = k.to_pkcs8_der().map_err(|e| e.to_string())?;
                (p8.as_bytes().to_vec(), &rcgen::PKCS_RSA_SHA256)
            }
            "EC PRIVATE KEY" => (wrap_sec1_p256(&der), &rcgen::PKCS_ECDSA_P256_SHA256),
            "DSA PRIVATE KEY" => return Err("dsa keys are not supported".into()),
            t if !t.ends_with(" PRIVATE KEY") => {
                return Err(format!("no private key data in PEM block of type {t}"));
            }
            t => return Err(format!("invalid private key type {t}")),
        };
        Ok(Key {
            pkcs8,
            pem: text.to_string(),
            alg,
        })
    }

    fn key_pair(&self) -> Result<rcgen::KeyPair, FuncError> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.clone());
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, self.alg)
            .map_err(|e| FuncError::new(format!("error creating certificate: {e}")))
    }
}

// ---- minimal DER helpers for moving EC keys between SEC1 and PKCS#8 ----

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else if len < 0x100 {
        vec![0x81, len as u8]
    } else {
        vec![0x82, (len >> 8) as u8, len as u8]
    }
}

fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

/// Reads one TLV: (tag, body, rest).
fn der_read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let body = b.get(hdr..hdr + len)?;
    Some((tag, body, &b[hdr + len..]))
}

/// The private key inside a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_inner(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (_, seq, _) = der_read(pkcs8)?;
    let (_, _, rest) = der_read(seq)?; // version
    let (_, _, rest) = der_read(rest)?; // algorithm
    let (tag, key, _) = der_read(rest)?;
    (tag == 0x04).then(|| key.to_vec())
}

/// A SEC1 P-256 key as PKCS#8.
fn wrap_sec1_p256(sec1: &[u8]) -> Vec<u8> {
    const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const PRIME256V1: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut alg = EC_PUBLIC_KEY.to_vec();
    alg.extend_from_slice(PRIME256V1);
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(der_tlv(0x30, &alg));
    body.extend(der_tlv(0x04, sec1));
    der_tlv(0x30, &body)
}

fn gen_private_key(kind: &str) -> Result<String, FuncError> {
    let key = match kind {
        "" | "rsa" => Key::rsa(4096)?,
        "ecdsa" => Key::ecdsa()?,
        "ed25519" => Key::ed25519()?,
        "dsa" => return Err(FuncError::new("genPrivateKey: dsa keys are not supported")),
        other => return Ok(format!("Unknown type {other}")),
    };
    Ok(key.pem)
}

fn build_custom(b64cert: &str, b64key: &str) -> Result<Certificate, FuncError> {
    let cert = B64
        .decode(b64cert)
        .map_err(|_| FuncError::new("unable to decode base64 certificate"))?;
    let key = B64
        .decode(b64key)
        .map_err(|_| FuncError::new("unable to decode base64 private key"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let block = pem::parse(&cert).map_err(|_| FuncError::new("unable to decode certificate"))?;
    x509_parser::parse_x509_certificate(block.contents())
        .map_err(|e| FuncError::new(format!("error parsing certificate: decodedCert.Bytes: {e}")))?;
    Key::from_pem(&key).map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
    Ok(Certificate { cert, key })
}

#[allow(clippy::too_many_arguments)]
fn certificate(
    env: &Env,
    cn: &str,
    ips: &[std::net::IpAddr],
    dns: &[String],
    days: i64,
    is_ca: bool,
    key: Key,
    ca: Option<&Certificate>,
) -> Result<Certificate, FuncError> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let now = (env.clock)();
    let not_after = now
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap_or(now);
    params.not_before = to_offset_datetime(now)?;
    params.not_after = to_offset_datetime(not_after)?;
    let mut serial = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.subject_alt_names = dns
        .iter()
        .map(|d| rcgen::string::Ia5String::try_from(d.clone()).map(rcgen::SanType::DnsName))
        .chain(ips.iter().map(|ip| Ok(rcgen::SanType::IpAddress(*ip))))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FuncError::new(format!("error creating certificate: {e}")))?;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    if is_ca {
        params.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    } else {
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
    }
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let kp = key.key_pair()?;
    let err = |e: rcgen::Error| FuncError::new(format!("error creating certificate: {e}"));
    let cert = match ca {
        None => params.self_signed(&kp).map_err(err)?,
        Some(ca) => {
            let signer = Key::from_pem(&ca.key)
                .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
            let signer_kp = signer.key_pair()?;
            let issuer = rcgen::Issuer::from_ca_cert_pem(&ca.cert, signer_kp).map_err(|e| {
                FuncError::new(if pem::parse(&ca.cert).is_err() {
                    "unable to decode certificate".to_string()
                } else {
                    format!("error parsing certificate: decodedSignerCert.Bytes: {e}")
                })
            })?;
            params.signed_by(&kp, &issuer).map_err(err)?
        }
    };
    Ok(Certificate {
        cert: cert.pem().replace("\r\n", "\n"),
        key: key.pem,
    })
}

fn to_offset_datetime(ts: jiff::Timestamp) -> Result<time::OffsetDateTime, FuncError> {
    time::OffsetDateTime::from_unix_timestamp(ts.as_second()).map_err(|e| FuncError::new(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn derive_password_matches_sprig() {
        // Expected values from Helm v4.3.2 (golden case crypto-derivePassword).
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com"),
            "ZedaFaxcZaso9*"
        );
        assert_eq!(derive_password(1, "pin", "pw", "u", "site"), "2977");
    }

    #[test]
    fn aes_round_trip_and_go_ciphertext() {
        let e = encrypt_aes("secretkey", "plaintext");
        assert_eq!(decrypt_aes("secretkey", &e).unwrap(), "plaintext");
        assert_eq!(
            decrypt_aes("secretkey", "vW409lAGe0WzboUUC7R1H1A637NfssfrzFM7rgcyJlA=").unwrap(),
            "plaintext"
        );
    }

    #[test]
    fn ec_keys_round_trip() {
        let k = Key::ecdsa().unwrap();
        let again = Key::from_pem(&k.pem).unwrap();
        again.key_pair().unwrap();
    }
}
