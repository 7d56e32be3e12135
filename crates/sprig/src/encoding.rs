//! Encodings and digests: base64, base32, SHA-1/256/512, Adler-32.

use base64::Engine as _;
use sha1::Digest as _;
use tack_gotemplate::{Funcs, Value};

use crate::convert::{arity, str_arg};

fn s1(funcs: &mut Funcs, name: &'static str, f: fn(&str) -> String) {
    funcs.insert(name, move |_, a| {
        arity(name, a, 1)?;
        Ok(Value::string(f(&str_arg(&a[0])?)))
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn register(funcs: &mut Funcs) {
    s1(funcs, "b64enc", |s| {
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    s1(
        funcs,
        "b64dec",
        |s| match base64::engine::general_purpose::STANDARD.decode(s) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => go_base64_error(s, &e),
        },
    );
    s1(funcs, "b32enc", base32_encode);
    s1(funcs, "b32dec", |s| match base32_decode(s) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(at) => format!("illegal base32 data at input byte {at}"),
    });
    s1(funcs, "sha1sum", |s| hex(&sha1::Sha1::digest(s.as_bytes())));
    s1(funcs, "sha256sum", |s| hex(&sha2::Sha256::digest(s.as_bytes())));
    s1(funcs, "sha512sum", |s| hex(&sha2::Sha512::digest(s.as_bytes())));
    s1(funcs, "adler32sum", |s| adler32(s.as_bytes()).to_string());
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(input: &str, e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _) => *at,
        base64::DecodeError::InvalidLastSymbol(at, _) => *at,
        base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
            // Go reports the offset of the incomplete quantum.
            input.trim_end_matches('=').len() / 4 * 4
        }
    };
    format!("illegal base64 data at input byte {at}")
}

pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(s: &str) -> String {
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[((n >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base32 with padding; `Err(offset)` as Go's `CorruptInputError`.
fn base32_decode(s: &str) -> Result<Vec<u8>, usize> {
    let s: Vec<u8> = s.bytes().filter(|c| *c != b'\n' && *c != b'\r').collect();
    if !s.len().is_multiple_of(8) {
        return Err(s.len() / 8 * 8);
    }
    let mut out = Vec::new();
    for (ci, chunk) in s.chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut count = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                if chunk[i..].iter().any(|x| *x != b'=') || ci != s.len() / 8 - 1 {
                    return Err(ci * 8 + i);
                }
                break;
            }
            let Some(v) = B32.iter().position(|x| *x == c) else {
                return Err(ci * 8 + i);
            };
            n = (n << 5) | v as u64;
            count += 1;
        }
        n <<= 5 * (8 - count);
        let bytes = match count {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(ci * 8 + count),
        };
        let all = n.to_be_bytes();
        out.extend_from_slice(&all[3..3 + bytes]);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode("hello"), "NBSWY3DP");
        assert_eq!(base32_encode("a"), "ME======");
        assert_eq!(base32_decode("ME======").unwrap(), b"a");
        assert_eq!(adler32(b"Wikipedia"), 300286872);
    }
}
