//! `std.format(str, vals)` with go-jsonnet's semantics: Python-style `%` codes (mapping key, flags `#0- +`,
//! width and precision, `*` from the values, length modifiers ignored; conversions `d i u o x X e E f F g G c s
//! %`), widths counted in characters, and numbers rendered as go-jsonnet's standard library renders them
//! (digit by digit in floating point: `"%d" % 1e20` and `"%.0g" % 3` read as go-jsonnet prints them).
//!
//! The `%` operator on a string comes here too (go-jsonnet: `std.mod` is `std.format` on a string).

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::builtin;
use jrsonnet_evaluator::{IStr, Result, Val};

/// `std.format(str, vals)`.
#[builtin]
pub(crate) fn builtin_format(str: String, vals: Val) -> Result<String> {
    let pieces = parse(&str)?;
    match vals {
        Val::Arr(items) => {
            let values = items.iter().collect::<Result<Vec<Val>>>()?;
            format_array(&pieces, &values)
        }
        Val::Obj(obj) => format_object(&pieces, &|key: &str| {
            let key = IStr::from(key);
            if obj.has_field_include_hidden(key.clone()) {
                obj.get_or_bail(key).map(Some)
            } else {
                Ok(None)
            }
        }),
        other => format_array(&pieces, &[other]),
    }
}

fn fail<T>(message: String) -> Result<T> {
    Err(ErrorKind::RuntimeError(message.into()).into())
}

/// A width or precision: a number, or `*` (taken from the values).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Width {
    Star,
    N(f64),
}

#[derive(Clone, Debug, Default)]
struct Flags {
    alt: bool,
    zero: bool,
    left: bool,
    blank: bool,
    plus: bool,
}

#[derive(Clone, Debug)]
struct Code {
    key: Option<String>,
    flags: Flags,
    width: Width,
    precision: Option<Width>,
    /// One of `d o x e f g c s %`.
    conversion: char,
    caps: bool,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    Code(Code),
}

const TRUNCATED: &str = "Truncated format code.";

/// The format string as text and codes; errors as go-jsonnet's (its parse runs before any value is used).
fn parse(format: &str) -> Result<Vec<Piece>> {
    let chars: Vec<char> = format.chars().collect();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '%' {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
            let (code, next) = parse_code(&chars, i + 1)?;
            pieces.push(Piece::Code(code));
            i = next;
        } else {
            text.push(chars[i]);
            i += 1;
        }
    }
    pieces.push(Piece::Text(text));
    Ok(pieces)
}

fn at(chars: &[char], i: usize) -> Result<char> {
    match chars.get(i) {
        Some(c) => Ok(*c),
        None => fail(TRUNCATED.into()),
    }
}

fn parse_code(chars: &[char], mut i: usize) -> Result<(Code, usize)> {
    let mut key = None;
    if at(chars, i)? == '(' {
        let mut name = String::new();
        i += 1;
        loop {
            match chars.get(i) {
                None => return fail(TRUNCATED.into()),
                Some(')') => break,
                Some(c) => name.push(*c),
            }
            i += 1;
        }
        key = Some(name);
        i += 1;
    }
    let mut flags = Flags::default();
    loop {
        match at(chars, i)? {
            '#' => flags.alt = true,
            '0' => flags.zero = true,
            '-' => flags.left = true,
            ' ' => flags.blank = true,
            '+' => flags.plus = true,
            _ => break,
        }
        i += 1;
    }
    let (width, next) = parse_width(chars, i)?;
    i = next;
    let mut precision = None;
    if at(chars, i)? == '.' {
        let (p, next) = parse_width(chars, i + 1)?;
        precision = Some(p);
        i = next;
    }
    if matches!(at(chars, i)?, 'h' | 'l' | 'L') {
        i += 1;
    }
    let c = at(chars, i)?;
    let conversion = match c {
        'd' | 'i' | 'u' => 'd',
        'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'c' | 's' | '%' => c.to_ascii_lowercase(),
        _ => return fail(format!("Unrecognised conversion type: {c}")),
    };
    let code = Code {
        key,
        flags,
        width,
        precision,
        conversion,
        caps: matches!(c, 'X' | 'E' | 'F' | 'G'),
    };
    Ok((code, i + 1))
}

fn parse_width(chars: &[char], mut i: usize) -> Result<(Width, usize)> {
    if chars.get(i) == Some(&'*') {
        return Ok((Width::Star, i + 1));
    }
    let mut n = 0.0;
    loop {
        match at(chars, i)?.to_digit(10) {
            Some(d) => n = n * 10.0 + f64::from(d),
            None => return Ok((Width::N(n), i)),
        }
        i += 1;
    }
}

/// A `*` width or precision taken from the values: a number.
fn star_value(values: &[Val], j: usize) -> Result<f64> {
    match values.get(j) {
        None => fail(format!(
            "Not enough values to format: {}, expected at least {j}",
            values.len()
        )),
        Some(Val::Num(n)) => Ok(n.get()),
        Some(other) => fail(format!("Unexpected type {}, expected number", other.value_type())),
    }
}

fn format_array(pieces: &[Piece], values: &[Val]) -> Result<String> {
    let mut out = String::new();
    let mut j = 0;
    for piece in pieces {
        let code = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Code(code) => code,
        };
        let width = match code.width {
            Width::Star => {
                j += 1;
                star_value(values, j - 1)?
            }
            Width::N(n) => n,
        };
        // As in go-jsonnet's library, a precision and a value are only read for a conversion that uses them.
        let precision = match code.precision {
            Some(Width::Star) => {
                j += 1;
                Some(j - 1)
            }
            _ => None,
        };
        let text = if code.conversion == '%' {
            "%".to_string()
        } else {
            let precision = match (code.precision, precision) {
                (Some(Width::N(n)), _) => Some(n),
                (_, Some(at)) => Some(star_value(values, at)?),
                _ => None,
            };
            let Some(value) = values.get(j) else {
                return fail(format!(
                    "Not enough values to format: {}, expected more than {j}",
                    values.len()
                ));
            };
            let rendered = render(value, code, width, precision, &j.to_string())?;
            j += 1;
            rendered
        };
        pad(&mut out, &text, width, code.flags.left);
    }
    if j < values.len() {
        return fail(format!(
            "Too many values to format: {}, expected {j}",
            values.len()
        ));
    }
    Ok(out)
}

fn format_object(pieces: &[Piece], field: &dyn Fn(&str) -> Result<Option<Val>>) -> Result<String> {
    let mut out = String::new();
    for piece in pieces {
        let code = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Code(code) => code,
        };
        let Width::N(width) = code.width else {
            return fail("Cannot use * field width with object.".into());
        };
        let text = if code.conversion == '%' {
            "%".to_string()
        } else {
            let Some(key) = &code.key else {
                return fail("Mapping keys required.".into());
            };
            let precision = match code.precision {
                Some(Width::Star) => return fail("Cannot use * precision with object.".into()),
                Some(Width::N(n)) => Some(n),
                None => None,
            };
            let Some(value) = field(key)? else {
                return fail(format!("No such field: {key}"));
            };
            render(&value, code, width, precision, key)?
        };
        pad(&mut out, &text, width, code.flags.left);
    }
    Ok(out)
}

/// Appends `text` padded with spaces to `width` characters.
fn pad(out: &mut String, text: &str, width: f64, left: bool) {
    let missing = padding(width, text.chars().count());
    if left {
        out.push_str(text);
    }
    out.extend(std::iter::repeat_n(' ', missing));
    if !left {
        out.push_str(text);
    }
}

/// How many characters are missing from `len` to reach `width`.
fn padding(width: f64, len: usize) -> usize {
    let missing = (width - len as f64).ceil();
    if missing > 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return missing as usize;
    }
    0
}

/// One value by its code. `at` names the value in errors (its index or mapping key).
fn render(value: &Val, code: &Code, width: f64, precision: Option<f64>, at: &str) -> Result<String> {
    let f = &code.flags;
    let zero_pad = if f.zero && !f.left { width } else { 0.0 };
    match code.conversion {
        's' => return Ok(value.to_string()?.to_string()),
        'c' => {
            return match value {
                Val::Num(n) => {
                    let n = n.get();
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let c = (n >= 0.0 && n <= f64::from(u32::MAX))
                        .then_some(n as u32)
                        .and_then(char::from_u32);
                    match c {
                        Some(c) => Ok(c.to_string()),
                        None => fail(format!(
                            "Invalid unicode codepoint, got {}",
                            crate::manifest::number(n)
                        )),
                    }
                }
                Val::Str(s) => {
                    let s = s.clone().into_flat();
                    match s.chars().count() {
                        1 => Ok(s.to_string()),
                        n => fail(format!("%c expected 1-sized string got: {n}")),
                    }
                }
                other => fail(format!(
                    "%c expected number / string, got: {}",
                    other.value_type()
                )),
            };
        }
        _ => {}
    }
    let Val::Num(n) = value else {
        return fail(format!(
            "Format required number at {at}, got {}",
            value.value_type()
        ));
    };
    let n = n.get();
    let int_precision = precision.unwrap_or(0.0);
    let fp_precision = precision.unwrap_or(6.0);
    let (blank, plus) = (f.blank, f.plus);
    Ok(match code.conversion {
        'd' => render_int(
            n <= -1.0,
            n.abs().floor(),
            zero_pad,
            int_precision,
            blank,
            plus,
            10.0,
            "",
        ),
        'o' => {
            let prefix = if f.alt { "0" } else { "" };
            render_int(
                n <= -1.0,
                n.abs().floor(),
                zero_pad,
                int_precision,
                blank,
                plus,
                8.0,
                prefix,
            )
        }
        'x' => render_hex(n.floor(), zero_pad, int_precision, blank, plus, f.alt, code.caps),
        'f' => render_float_dec(n, zero_pad, blank, plus, f.alt, true, fp_precision),
        'e' => render_float_sci(n, zero_pad, blank, plus, f.alt, true, code.caps, fp_precision),
        _ => {
            let exponent = if n == 0.0 { 0.0 } else { decimal_exponent(n) };
            if exponent < -4.0 || exponent >= fp_precision {
                render_float_sci(
                    n,
                    zero_pad,
                    blank,
                    plus,
                    f.alt,
                    f.alt,
                    code.caps,
                    fp_precision - 1.0,
                )
            } else {
                let before_point = (exponent + 1.0).max(1.0);
                render_float_dec(
                    n,
                    zero_pad,
                    blank,
                    plus,
                    f.alt,
                    f.alt,
                    fp_precision - before_point,
                )
            }
        }
    })
}

/// `floor(log(|n|) / log(10))`, the exponent go-jsonnet's library computes (`1000` gives 2).
fn decimal_exponent(n: f64) -> f64 {
    (crate::gomath::log(n.abs()) / crate::gomath::log(10.0)).floor()
}

/// A digit (or, for fractional magnitudes, a number) as Jsonnet's string concatenation writes it.
fn digit_text(d: f64) -> String {
    crate::manifest::number(d)
}

/// Left-pads `s` with `c` to `width` characters.
fn pad_left(s: String, width: f64, c: char) -> String {
    let missing = padding(width, s.chars().count());
    let mut out: String = std::iter::repeat_n(c, missing).collect();
    out.push_str(&s);
    out
}

fn sign(neg: bool, plus: bool, blank: bool) -> &'static str {
    if neg {
        "-"
    } else if plus {
        "+"
    } else if blank {
        " "
    } else {
        ""
    }
}

/// A sign and magnitude in `radix`, digit by digit in floating point (so magnitudes past 2^53 show the
/// digits go-jsonnet shows), zero-padded to `min_chars` in all and `min_digits` digits.
#[allow(clippy::too_many_arguments)]
fn render_int(
    neg: bool,
    magnitude: f64,
    min_chars: f64,
    min_digits: f64,
    blank: bool,
    plus: bool,
    radix: f64,
    zero_prefix: &str,
) -> String {
    let digits = if magnitude == 0.0 {
        "0".to_string()
    } else {
        let mut parts = Vec::new();
        let mut m = magnitude;
        while m != 0.0 {
            parts.push(digit_text(m % radix));
            m = (m / radix).floor();
        }
        let mut s = zero_prefix.to_string();
        s.extend(parts.iter().rev().map(String::as_str));
        s
    };
    let signed = neg || blank || plus;
    let zeros = (min_chars - if signed { 1.0 } else { 0.0 }).max(min_digits);
    format!("{}{}", sign(neg, plus, blank), pad_left(digits, zeros, '0'))
}

fn render_hex(
    n: f64,
    min_chars: f64,
    min_digits: f64,
    blank: bool,
    plus: bool,
    zerox: bool,
    caps: bool,
) -> String {
    let magnitude = n.abs().floor();
    let digits = if magnitude == 0.0 {
        "0".to_string()
    } else {
        let numerals = if caps {
            "0123456789ABCDEF"
        } else {
            "0123456789abcdef"
        };
        let mut parts = Vec::new();
        let mut m = magnitude;
        while m != 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let d = (m % 16.0) as usize;
            parts.push(numerals.as_bytes()[d.min(15)] as char);
            m = (m / 16.0).floor();
        }
        parts.iter().rev().collect()
    };
    let neg = n < 0.0;
    let zeros = (min_chars - if neg || blank || plus { 1.0 } else { 0.0 } - if zerox { 2.0 } else { 0.0 })
        .max(min_digits);
    let prefix = match (zerox, caps) {
        (false, _) => "",
        (true, false) => "0x",
        (true, true) => "0X",
    };
    format!(
        "{}{prefix}{}",
        sign(neg, plus, blank),
        pad_left(digits, zeros, '0')
    )
}

/// Decimal notation, rounded half up at `prec` digits after the point (go-jsonnet's arithmetic).
#[allow(clippy::too_many_arguments)]
fn render_float_dec(
    n: f64,
    zero_pad: f64,
    blank: bool,
    plus: bool,
    ensure_point: bool,
    trailing: bool,
    prec: f64,
) -> String {
    let magnitude = n.abs();
    let denominator = go_pow10(prec);
    let numerator = magnitude * denominator + 0.5;
    let whole = if magnitude == 0.0 {
        0.0
    } else {
        (numerator / denominator).floor()
    };
    let frac = numerator.floor() % denominator;
    let dot = if prec == 0.0 && !ensure_point { 0.0 } else { 1.0 };
    let int = render_int(n < 0.0, whole, zero_pad - prec - dot, 0.0, blank, plus, 10.0, "");
    if prec == 0.0 {
        return if ensure_point { int + "." } else { int };
    }
    if trailing || frac > 0.0 {
        let frac_text = render_int(false, frac, prec, 0.0, false, false, 10.0, "");
        let frac_text = if trailing {
            frac_text
        } else {
            frac_text.trim_end_matches('0').to_string()
        };
        format!("{int}.{frac_text}")
    } else {
        int
    }
}

/// Scientific notation: the mantissa in decimal notation, then `e` and a signed exponent of two digits or more.
#[allow(clippy::too_many_arguments)]
fn render_float_sci(
    n: f64,
    zero_pad: f64,
    blank: bool,
    plus: bool,
    ensure_point: bool,
    trailing: bool,
    caps: bool,
    prec: f64,
) -> String {
    let exponent = if n == 0.0 { 0.0 } else { decimal_exponent(n) };
    let suffix = format!(
        "{}{}",
        if caps { 'E' } else { 'e' },
        render_int(exponent < 0.0, exponent.abs(), 3.0, 0.0, false, true, 10.0, "")
    );
    let mantissa = if exponent == -324.0 {
        n * 10.0 / go_pow10(exponent + 1.0)
    } else {
        n / go_pow10(exponent)
    };
    let zero_pad = zero_pad - suffix.chars().count() as f64;
    render_float_dec(mantissa, zero_pad, blank, plus, ensure_point, trailing, prec) + &suffix
}

/// `10^e` as Go's `math.Pow` computes it.
fn go_pow10(e: f64) -> f64 {
    crate::gomath::pow(10.0, e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten_as_go_computes_them() {
        for e in -22..=22 {
            assert_eq!(
                go_pow10(f64::from(e)),
                format!("1e{e}").parse::<f64>().unwrap(),
                "10^{e}"
            );
        }
    }

    #[test]
    fn numbers_render_as_go_jsonnet_renders_them() {
        assert_eq!(render_float_dec(2.5, 0.0, false, false, false, true, 0.0), "3");
        assert_eq!(
            render_float_sci(1000.0, 0.0, false, false, false, true, false, 6.0),
            "10.000000e+02"
        );
        assert_eq!(
            render_float_sci(3.0, 0.0, false, false, false, false, false, -1.0),
            "8e+00"
        );
        assert_eq!(
            render_int(false, 1e20, 0.0, 0.0, false, false, 10.0, ""),
            "100000000000000000000"
        );
        assert_eq!(render_hex(255.0, 6.0, 0.0, false, false, true, true), "0X00FF");
    }
}
