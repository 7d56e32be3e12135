//! JSON as Go's `encoding/json` writes and reads it, for Helm's `toJson`, `mustToJson`, `fromJson` and
//! `fromJsonArray` (and the JSON step inside `toYaml`).
//!
//! * [`to_json`]: `json.Marshal`: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`…,
//!   floats in Go's format (`1000000`, `1e+21`, `1e-7`), `[]byte` as base64.
//! * [`parse`] / [`parse_prefix`]: `json.Unmarshal` into `interface{}`: every number a `float64`, syntax errors
//!   worded as Go words them (`invalid character 'x' looking for beginning of value`).
//! * [`from_json`] / [`from_json_array`]: Helm's template functions, which never fail: the error text is put in
//!   the result instead.

use tack_gotemplate::{Map, Value};

/// A JSON encoding or decoding error, worded as Go's `encoding/json`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// Go's `json.Marshal(v)`.
pub fn to_json(v: &Value) -> Result<String, JsonError> {
    let mut out = String::new();
    write_value(&mut out, v, 0)?;
    Ok(out)
}

/// Maximum nesting accepted when encoding (Go detects cycles at 1000 levels of pointers; maps shared by
/// reference could form a cycle here).
const MAX_DEPTH: usize = 10_000;

fn write_value(out: &mut String, v: &Value, depth: usize) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError(
            "json: unsupported value: encountered a cycle".to_string(),
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&base64_std(b));
            out.push('"');
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, item, depth + 1)?;
            }
            out.push('}');
        }
        Value::Object(o) => match o.to_data() {
            Some(data) => write_value(out, &data, depth + 1)?,
            None => {
                return Err(JsonError(format!("json: unsupported type: {}", o.type_name())));
            }
        },
    }
    Ok(())
}

/// A float64 as `encoding/json` prints it; NaN and infinities are errors.
pub fn go_json_float(f: f64) -> Result<String, JsonError> {
    if !f.is_finite() {
        let s = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(JsonError(format!("json: unsupported value: {s}")));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // 'e' format, shortest digits, exponent without leading zeros ("1e-7", "1e+21").
        let e = format!("{f:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        let digits = exp.unsigned_abs();
        return Ok(if exp >= 0 && digits < 10 {
            format!("{mant}e{sign}0{digits}")
        } else {
            format!("{mant}e{sign}{digits}")
        });
    }
    Ok(format!("{f}"))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A string as `encoding/json` quotes it with HTML escaping on.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xF) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding (how `encoding/json` writes a `[]byte`).
pub fn base64_std(b: &[u8]) -> String {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(ALPHA[(v >> 18) as usize & 63] as char);
        out.push(ALPHA[(v >> 12) as usize & 63] as char);
        out.push(if n > 1 {
            ALPHA[(v >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if n > 2 {
            ALPHA[v as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Go's `json.Unmarshal(data, &v)` with `v interface{}`: the whole text must be one JSON value.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    match parse_partial(text)? {
        (v, None) => Ok(v),
        (_, Some(e)) => Err(e),
    }
}

/// Like [`parse`], but a number out of range (Go's `UnmarshalTypeError`) leaves `null` in its place and is
/// returned beside the value, as Go fills in the rest before reporting it.
fn parse_partial(text: &str) -> Result<(Value, Option<JsonError>), JsonError> {
    let mut p = Parser {
        b: text.as_bytes(),
        pos: 0,
        depth: 0,
        type_error: None,
    };
    p.skip_ws();
    let v = p.value(Ctx::Top)?;
    p.skip_ws();
    if p.pos < p.b.len() {
        return Err(p.invalid("after top-level value"));
    }
    Ok((v, p.type_error.take()))
}

/// What `json.Decoder.Decode` reads from the start of `text`: the first value and the number of bytes it took.
/// Only whitespace before the value is skipped.
pub fn parse_prefix(text: &str) -> Result<(Value, usize), JsonError> {
    let mut p = Parser {
        b: text.as_bytes(),
        pos: 0,
        depth: 0,
        type_error: None,
    };
    p.skip_ws();
    if p.pos == p.b.len() {
        return Err(JsonError("EOF".to_string()));
    }
    match p.value(Ctx::Top) {
        Ok(v) => Ok((v, p.pos)),
        Err(e) if e.0 == "unexpected end of JSON input" => Err(JsonError("unexpected EOF".to_string())),
        Err(e) => Err(e),
    }
}

/// Helm's `fromJson`: a map, or `{"Error": message}` when the text is not a JSON object.
/// (`null` gives a nil map, which prints as `null`.)
pub fn from_json(text: &str) -> Value {
    match parse_partial(text) {
        Ok((Value::Map(m), None)) => Value::Map(m),
        Ok((Value::Map(m), Some(e))) => {
            m.borrow_mut().insert("Error".to_string(), Value::string(e.0));
            Value::Map(m)
        }
        Ok((Value::Nil, _)) => Value::Nil,
        Ok((other, _)) => error_map(cannot_unmarshal(&other, "map[string]interface {}")),
        Err(e) => error_map(e.0),
    }
}

/// Helm's `fromJsonArray`: a list, or a list holding the error message.
pub fn from_json_array(text: &str) -> Value {
    match parse_partial(text) {
        Ok((Value::List(l), None)) => Value::List(l),
        Ok((Value::Nil, _)) => Value::Nil,
        Ok((Value::List(_), Some(e))) => Value::list(vec![Value::string(e.0)]),
        Ok((other, _)) => Value::list(vec![Value::string(cannot_unmarshal(&other, "[]interface {}"))]),
        Err(e) => Value::list(vec![Value::string(e.0)]),
    }
}

fn error_map(message: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".to_string(), Value::string(message));
    Value::map(m)
}

/// Go's `UnmarshalTypeError` text for a JSON value of the wrong kind.
pub(crate) fn cannot_unmarshal(v: &Value, go_type: &str) -> String {
    let kind = match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    format!("json: cannot unmarshal {kind} into Go value of type {go_type}")
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    Array,
    Object,
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// The first number that does not fit a float64.
    type_error: Option<JsonError>,
}

/// Go's scanner refuses more than 10000 nested levels.
const MAX_NESTING: usize = 10_000;

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
    }

    fn eof() -> JsonError {
        JsonError("unexpected end of JSON input".to_string())
    }

    /// `invalid character 'c' CONTEXT` for the byte at the current position (end of input: unexpected end).
    fn invalid(&self, context: &str) -> JsonError {
        match self.b.get(self.pos) {
            None => Self::eof(),
            Some(&c) => JsonError(format!("invalid character {} {context}", quote_char(c))),
        }
    }

    fn value(&mut self, _ctx: Ctx) -> Result<Value, JsonError> {
        let Some(&c) = self.b.get(self.pos) else {
            return Err(Self::eof());
        };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(Value::string(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn nest(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(JsonError("exceeded max depth".to_string()));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.nest()?;
        self.pos += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::map(map));
        }
        loop {
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b':') {
                return Err(self.invalid("after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(Ctx::Object)?;
            map.insert(key, v);
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::map(map));
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.nest()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::list(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(Ctx::Array)?);
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        let w = word.as_bytes();
        for (i, &expected) in w.iter().enumerate().skip(1) {
            match self.b.get(self.pos + i) {
                None => return Err(Self::eof()),
                Some(&c) if c == expected => {}
                Some(&c) => {
                    return Err(JsonError(format!(
                        "invalid character {} in literal {word} (expecting {})",
                        quote_char(c),
                        quote_char(expected)
                    )));
                }
            }
        }
        self.pos += w.len();
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let b = self.b;
        let mut i = self.pos;
        if b[i] == b'-' {
            i += 1;
            match b.get(i) {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {}
                Some(_) => {
                    self.pos = i;
                    return Err(self.invalid("in numeric literal"));
                }
            }
        }
        if b[i] == b'0' {
            i += 1;
        } else {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            match b.get(i) {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {}
                Some(_) => {
                    self.pos = i;
                    return Err(self.invalid("after decimal point in numeric literal"));
                }
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            match b.get(i) {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {}
                Some(_) => {
                    self.pos = i;
                    return Err(self.invalid("in exponent of numeric literal"));
                }
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        self.pos = i;
        let text = std::str::from_utf8(&b[start..i]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                if self.type_error.is_none() {
                    self.type_error = Some(JsonError(format!(
                        "json: cannot unmarshal number {text} into Go value of type float64"
                    )));
                }
                Ok(Value::Nil)
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        let b = self.b;
        loop {
            let start = self.pos;
            while self.pos < b.len() && b[self.pos] != b'"' && b[self.pos] != b'\\' && b[self.pos] >= 0x20 {
                self.pos += 1;
            }
            out.push_str(&String::from_utf8_lossy(&b[start..self.pos]));
            match b.get(self.pos) {
                None => return Err(Self::eof()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.invalid("in string literal")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let Some(&c) = self.b.get(self.pos) else {
            return Err(Self::eof());
        };
        self.pos += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let r = self.hex4()?;
                if (0xD800..0xDC00).contains(&r)
                    && self.b.get(self.pos) == Some(&b'\\')
                    && self.b.get(self.pos + 1) == Some(&b'u')
                {
                    let save = self.pos;
                    self.pos += 2;
                    let r2 = self.hex4()?;
                    if (0xDC00..0xE000).contains(&r2) {
                        let cp = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                        out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        return Ok(());
                    }
                    self.pos = save;
                    out.push('\u{FFFD}');
                    return Ok(());
                }
                char::from_u32(r).unwrap_or('\u{FFFD}')
            }
            _ => {
                self.pos -= 1;
                return Err(self.invalid("in string escape code"));
            }
        };
        out.push(ch);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut r = 0u32;
        for _ in 0..4 {
            let Some(&c) = self.b.get(self.pos) else {
                return Err(Self::eof());
            };
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(self.invalid("in \\u hexadecimal character escape")),
            };
            r = r * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(r)
    }
}

/// Go's `quoteChar` (how the JSON scanner names a byte in its errors).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let r = char::from(c);
            let inner = match r {
                '\u{7}' => "\\a".to_string(),
                '\u{8}' => "\\b".to_string(),
                '\u{c}' => "\\f".to_string(),
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                '\u{b}' => "\\v".to_string(),
                '\\' => "\\\\".to_string(),
                _ if (c < 0x20) || c == 0x7f => format!("\\x{c:02x}"),
                _ if (0x80..0xA1).contains(&c) || c == 0xAD => format!("\\u{:04x}", c),
                _ => r.to_string(),
            };
            format!("'{inner}'")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        let f = |x: f64| go_json_float(x).unwrap_or_default();
        assert_eq!(f(1000000.0), "1000000");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1e-7), "1e-7");
        assert_eq!(f(0.000001), "0.000001");
        assert_eq!(f(1.5e300), "1.5e+300");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(123456789.125), "123456789.125");
    }

    #[test]
    fn syntax_errors_as_go_words_them() {
        let e = |s: &str| parse(s).err().map(|e| e.0).unwrap_or_default();
        assert_eq!(e("x"), "invalid character 'x' looking for beginning of value");
        assert_eq!(e("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(e("[1 2]"), "invalid character '2' after array element");
        assert_eq!(e("{\"a\":1"), "unexpected end of JSON input");
        assert_eq!(e("tru"), "unexpected end of JSON input");
        assert_eq!(e("trux"), "invalid character 'x' in literal true (expecting 'e')");
        assert_eq!(e("{} x"), "invalid character 'x' after top-level value");
        assert_eq!(
            e("{'a':1}"),
            "invalid character '\\'' looking for beginning of object key string"
        );
    }
}
