//! Go's `encoding/json` for template values: `Marshal` (sorted keys, HTML escaping optional, Go's float
//! printing, `MarshalIndent`) and `Unmarshal` into `interface{}` (numbers become float64) with Go's syntax
//! error messages.

use std::collections::BTreeMap;

use tack_gotemplate::Value;

use crate::convert::{format_float_e, format_float_f, type_name};

/// How to encode.
#[derive(Clone, Copy, Default)]
pub struct EncodeOptions {
    /// Escape `<`, `>` and `&` as `\u003c`… (`json.Marshal`); `false` is `SetEscapeHTML(false)`.
    pub escape_html: bool,
    /// Indent unit for `MarshalIndent(v, "", indent)`; `None`: compact.
    pub indent: Option<&'static str>,
}

/// `json.Marshal` / `MarshalIndent` of a value; `Err` carries Go's message.
pub fn encode(v: &Value, opts: EncodeOptions) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, opts, 0)?;
    Ok(out)
}

fn newline(out: &mut String, opts: EncodeOptions, depth: usize) {
    if let Some(unit) = opts.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    }
}

fn write_value(out: &mut String, v: &Value, opts: EncodeOptions, depth: usize) -> Result<(), String> {
    if depth > crate::convert::MAX_DEPTH {
        return Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            type_name(v)
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&encode_float(*f)?),
        Value::String(s) => write_string(out, s, opts.escape_html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            write_string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                opts.escape_html,
            )
        }
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, opts, depth + 1);
                write_value(out, item, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, opts, depth + 1);
                write_string(out, k, opts.escape_html);
                out.push(':');
                if opts.indent.is_some() {
                    out.push(' ');
                }
                write_value(out, item, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push('}');
        }
        Value::Object(o) => match o.to_data() {
            Some(data) => write_value(out, &data, opts, depth)?,
            None => return Err(format!("json: unsupported type: {}", type_name(v))),
        },
    }
    Ok(())
}

/// encoding/json's float64 form: fixed notation, exponent form below 1e-6 or from 1e21 (`1e-7`, `1e+21`).
pub fn encode_float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::convert::format_float_g(f)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float_e(f);
        // e-09 -> e-9
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 2] == "e-" && s.as_bytes()[n - 2] == b'0' {
            s.remove(n - 2);
        }
        Ok(s)
    } else {
        Ok(format_float_f(f))
    }
}

/// A JSON string literal as encoding/json writes it.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
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
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `json.Unmarshal` into `interface{}`: objects become maps, arrays lists, numbers float64.
pub fn decode(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.invalid("after top-level value"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

const EOF: &str = "unexpected end of JSON input";

/// Go's `quoteChar`: a byte as the scanner's errors show it.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x07 => "'\\a'".into(),
        0x08 => "'\\b'".into(),
        0x0b => "'\\v'".into(),
        0x0c => "'\\f'".into(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        c if c < 0x80 => format!("'{}'", char::from(c)),
        c if c < 0xa0 => format!("'\\u{:04x}'", u32::from(c)),
        c => format!("'{}'", char::from(c)),
    }
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn invalid(&self, context: &str) -> String {
        match self.b.get(self.i) {
            Some(c) => format!("invalid character {} {context}", quote_char(*c)),
            None => EOF.into(),
        }
    }

    /// Go's scanner feeds a space at the end of the input: inside a literal, a number or an escape that
    /// space is the invalid character.
    fn invalid_or_space(&self, context: &str) -> String {
        match self.b.get(self.i) {
            Some(c) => format!("invalid character {} {context}", quote_char(*c)),
            None => format!("invalid character ' ' {context}"),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.b.get(self.i) {
            None => Err(EOF.into()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::string(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for expect in word.bytes() {
            if self.b.get(self.i) == Some(&expect) {
                self.i += 1;
            } else {
                return Err(
                    self.invalid_or_space(&format!("in literal {word} (expecting {})", quote_char(expect)))
                );
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        match self.b.get(self.i) {
            None => return Err(self.invalid_or_space("in numeric literal")),
            Some(b'0') => self.i += 1,
            Some(c) if c.is_ascii_digit() => {
                while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
            }
            Some(_) => return Err(self.invalid("in numeric literal")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            match self.b.get(self.i) {
                None => return Err(self.invalid_or_space("after decimal point in numeric literal")),
                Some(c) if c.is_ascii_digit() => {}
                Some(_) => return Err(self.invalid("after decimal point in numeric literal")),
            }
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.b.get(self.i) {
                None => return Err(self.invalid_or_space("in exponent of numeric literal")),
                Some(c) if c.is_ascii_digit() => {}
                Some(_) => return Err(self.invalid("in exponent of numeric literal")),
            }
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            )),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(EOF.into());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.invalid_or_space("in string escape code"));
                    };
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(self.invalid("in string escape code")),
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        self.i += 1;
                        continue;
                    }
                    self.i += 1;
                    let first = self.hex4()?;
                    let ch = if (0xD800..0xDC00).contains(&first)
                        && self.b.get(self.i) == Some(&b'\\')
                        && self.b.get(self.i + 1) == Some(&b'u')
                    {
                        let save = self.i;
                        self.i += 2;
                        let second = self.hex4()?;
                        if (0xDC00..0xE000).contains(&second) {
                            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                        } else {
                            self.i = save;
                            None
                        }
                    } else {
                        char::from_u32(first)
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.invalid("in string literal")),
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.invalid_or_space("in \\u hexadecimal character escape"));
            };
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.invalid("in \\u hexadecimal character escape"))?;
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }

    fn array(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = BTreeMap::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.invalid("after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value()?;
            map.insert(key, v);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }
}
