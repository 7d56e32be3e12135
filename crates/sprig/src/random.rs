//! Random values (not reproducible, as in Helm): random strings, integers, bytes, UUIDs and `shuffle`.

use base64::Engine as _;
use rand::Rng as _;
use rand::seq::SliceRandom as _;
use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, int_arg};

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

fn random_from(set: &[u8], count: i64) -> Result<String, FuncError> {
    if count < 0 {
        return Err(FuncError::new(format!(
            "Requested random string length {count} is less than 0."
        )));
    }
    let mut rng = rand::rng();
    Ok((0..count)
        .map(|_| char::from(set[rng.random_range(0..set.len())]))
        .collect())
}

fn random_string(funcs: &mut Funcs, name: &'static str, set: &'static [u8]) {
    funcs.insert(name, move |_, a| {
        arity(name, a, 1)?;
        // goutils returns an error for a negative count, which Sprig drops: the result is "".
        Ok(Value::string(
            random_from(set, int_arg(&a[0])?).unwrap_or_default(),
        ))
    });
}

pub fn register(funcs: &mut Funcs) {
    random_string(funcs, "randAlpha", ALPHA);
    random_string(funcs, "randAlphaNum", ALNUM);
    random_string(funcs, "randNumeric", DIGITS);
    let ascii: &'static [u8] = &PRINTABLE;
    random_string(funcs, "randAscii", ascii);
    funcs.insert("randInt", |_, a| {
        arity("randInt", a, 2)?;
        let (min, max) = (int_arg(&a[0])?, int_arg(&a[1])?);
        if max <= min {
            return Err(FuncError::new("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::rng().random_range(min..max)))
    });
    funcs.insert("randBytes", |_, a| {
        arity("randBytes", a, 1)?;
        let n = int_arg(&a[0])?;
        if n < 0 {
            return Err(FuncError::new("runtime error: makeslice: len out of range"));
        }
        let mut buf = vec![0u8; n as usize];
        rand::rng().fill(&mut buf[..]);
        Ok(Value::string(
            base64::engine::general_purpose::STANDARD.encode(buf),
        ))
    });
    funcs.insert("uuidv4", |_, a| {
        arity("uuidv4", a, 0)?;
        Ok(Value::string(uuidv4()))
    });
}

const PRINTABLE: [u8; 95] = {
    let mut out = [0u8; 95];
    let mut i = 0;
    while i < 95 {
        out[i] = 32 + i as u8;
        i += 1;
    }
    out
};

/// A random (version 4) UUID.
pub fn uuidv4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// xstrings `Shuffle`: the runes of `s` in random order.
pub fn shuffle(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    chars.shuffle(&mut rand::rng());
    chars.into_iter().collect()
}
