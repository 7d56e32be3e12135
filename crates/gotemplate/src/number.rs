//! Go literal syntax: `strconv.Unquote`, `strconv.UnquoteChar` and the number rules of `parse.NumberNode`
//! (`strconv.ParseInt/ParseUint/ParseFloat` with base 0 and `_` separators).

use crate::ast::Number;

const SYNTAX: &str = "invalid syntax";

/// Go's `strconv.UnquoteChar`: the first character of `s` (an escape or a literal), and the rest.
pub(crate) fn unquote_char(s: &str, quote: char) -> Result<(char, &str), String> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX.into());
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let e = chars.next().ok_or(SYNTAX)?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(SYNTAX.into());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, rest));
    }
    let (n, radix) = match e {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (3, 8),
        _ => return Err(SYNTAX.into()),
    };
    let digits_src = if radix == 8 { &s[1..] } else { rest };
    if digits_src.len() < n || !digits_src.is_char_boundary(n) {
        return Err(SYNTAX.into());
    }
    let v = u32::from_str_radix(&digits_src[..n], radix).map_err(|_| SYNTAX.to_string())?;
    let tail = &digits_src[n..];
    if radix == 8 && v > 255 {
        return Err(SYNTAX.into());
    }
    let c = char::from_u32(v).ok_or(SYNTAX)?;
    Ok((c, tail))
}

/// Go's `strconv.Unquote` for `"..."`, `` `...` `` and `'...'`.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    let q = s.chars().next().ok_or(SYNTAX)?;
    if s.len() < 2 || !s.ends_with(q) {
        return Err(SYNTAX.into());
    }
    let body = &s[1..s.len() - 1];
    match q {
        '`' => {
            if body.contains('`') {
                return Err(SYNTAX.into());
            }
            Ok(body.replace('\r', ""))
        }
        '"' | '\'' => {
            if !body.contains('\\') && !body.contains(q) && (q == '"' && !body.contains('\n')) {
                return Ok(body.to_string());
            }
            let mut out = String::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with('\n') {
                    return Err(SYNTAX.into());
                }
                let (c, tail) = unquote_char(rest, q)?;
                out.push(c);
                rest = tail;
                if q == '\'' {
                    break;
                }
            }
            if q == '\'' && (!rest.is_empty() || out.is_empty()) {
                return Err(SYNTAX.into());
            }
            Ok(out)
        }
        _ => Err(SYNTAX.into()),
    }
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    let mut hex = false;
    if b.len() - i >= 2 && b[i] == b'0' && matches!(b[i + 1] | 0x20, b'b' | b'o' | b'x') {
        hex = b[i + 1] | 0x20 == b'x';
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(text, 0, 64)` / `ParseInt` as one: the magnitude and sign, `None` on syntax errors;
/// `Some(Err(()))` on overflow of u64.
fn parse_int_base0(text: &str) -> Option<(bool, u128)> {
    let (neg, s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s.is_empty() {
        return None;
    }
    let (radix, digits) = if s.len() >= 2 && s.starts_with('0') {
        match s.as_bytes()[1] | 0x20 {
            b'x' => (16, &s[2..]),
            b'o' => (8, &s[2..]),
            b'b' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    if s.contains('_') && !underscore_ok(text) {
        return None;
    }
    let mut v: u128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix)?;
        v = v.checked_mul(radix as u128)?.checked_add(d as u128)?;
        if v > u64::MAX as u128 * 2 {
            return Some((neg, v));
        }
        any = true;
    }
    if !any {
        return None;
    }
    Some((neg, v))
}

/// Go's `strconv.ParseFloat(text, 64)` for decimal text (hexadecimal floats are refused); out of range
/// (infinite) is an error, as in Go.
fn parse_float(text: &str) -> Option<f64> {
    parse_float_any(text).filter(|f| f.is_finite())
}

fn parse_float_any(text: &str) -> Option<f64> {
    if text.contains('_') && !underscore_ok(text) {
        return None;
    }
    let text = text.replace('_', "");
    let (neg, t) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return hex_float(hex).map(|f| if neg { -f } else { f });
    }
    if t.starts_with(['+', '-']) || t.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    text.parse().ok()
}

/// A hexadecimal float after `0x`: hex digits with an optional point, then a mandatory `p` exponent.
fn hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp.checked_sub(4 * i32::try_from(frac.len()).ok()?)?;
    Some(v * 2f64.powi(shift))
}

/// The constant `text` with every Go interpretation (`parse.newNumber`).
/// `complex_token`: the lexer saw a complex constant (`1+2i`), which Go reads with `fmt.Sscan`.
pub(crate) fn parse_number(text: &str, complex_token: bool) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        ..Number::default()
    };
    if let Some(imag) = text.strip_suffix('i')
        && !complex_token
        && parse_float(imag).is_some()
    {
        n.is_complex = true;
        return Ok(n);
    }
    if complex_token {
        // a complex constant such as 1+2i (the lexer's itemComplex), which Go reads with fmt.Sscan
        let body = &text[..text.len() - 1];
        let split = body
            .char_indices()
            .skip(1)
            .filter(|&(i, c)| {
                (c == '+' || c == '-') && !matches!(body.as_bytes()[i - 1], b'e' | b'E' | b'p' | b'P')
            })
            .map(|(i, _)| i)
            .last();
        let number = |s: &str| parse_float(s).is_some() || parse_int_base0(s).is_some();
        return match split {
            Some(i) if number(&body[..i]) && number(&body[i..]) => {
                n.is_complex = true;
                Ok(n)
            }
            _ => Err("syntax error scanning complex number".into()),
        };
    }
    let int = parse_int_base0(text);
    if let Some((neg, v)) = int {
        if !neg && v <= u64::MAX as u128 {
            n.is_uint = true;
        }
        let signed: Option<i64> = if neg {
            if v <= 1u128 << 63 {
                Some((v as i128).wrapping_neg() as i64)
            } else {
                None
            }
        } else if v <= i64::MAX as u128 {
            Some(v as i64)
        } else {
            None
        };
        if let Some(i) = signed {
            n.is_int = true;
            n.int64 = i;
            if i == 0 {
                n.is_uint = true;
            }
        }
        if n.is_int {
            n.is_float = true;
            n.float64 = n.int64 as f64;
        } else if n.is_uint {
            n.is_float = true;
            n.float64 = v as f64;
        }
    }
    if !n.is_int
        && !n.is_uint
        && let Some(f) = parse_float(text)
    {
        {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", crate::fmt::quote(text, false)));
            }
            n.is_float = true;
            n.float64 = f;
            if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
                n.is_int = true;
                n.int64 = f as i64;
            }
            if f.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&f) {
                n.is_uint = true;
            }
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::fmt::quote(text, false)
        ));
    }
    Ok(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = parse_number("0x1F", false).unwrap();
        assert!(n.is_int && n.int64 == 31);
        let n = parse_number("1_000", false).unwrap();
        assert_eq!(n.int64, 1000);
        let n = parse_number("0o17", false).unwrap();
        assert_eq!(n.int64, 15);
        let n = parse_number("0b101", false).unwrap();
        assert_eq!(n.int64, 5);
        let n = parse_number("1.5e3", false).unwrap();
        assert!(n.is_float && n.is_int && n.float64 == 1500.0);
        let n = parse_number("-7", false).unwrap();
        assert!(n.is_int && !n.is_uint);
        assert_eq!(
            parse_number("99999999999999999999", false).unwrap_err(),
            "integer overflow: \"99999999999999999999\""
        );
        assert!(parse_number("1__0", false).is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41\101""#).unwrap(), "a\tbéAA");
        assert_eq!(unquote("`a\\n`").unwrap(), "a\\n");
        assert!(unquote(r#""\'""#).is_err());
        assert_eq!(unquote_char("\\n'", '\'').unwrap(), ('\n', "'"));
    }
}
