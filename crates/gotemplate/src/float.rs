//! Go's `strconv.FormatFloat` for float64: the `e`, `f`, `g` formats with a precision or the shortest
//! representation that reads back exactly, plus `b` and `x`.

/// The shortest decimal digits of `|x|` that read back as `x`, and the decimal point position (Go's `digs.nd`
/// and `digs.dp`): 1500.0 is ("15", 4). Zero is ("", 0).
pub(crate) fn shortest(x: f64) -> (String, i32) {
    if x == 0.0 {
        return (String::new(), 0);
    }
    split_sci(&format!("{:e}", x.abs()))
}

/// Splits Rust's `1.2345e-7` into digits and decimal point position, trailing zeros removed.
fn split_sci(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.ends_with('0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (digits, 0);
    }
    (digits, exp + 1)
}

/// `|x|` rounded to `n` significant digits (n >= 1), trailing zeros removed.
fn significant(x: f64, n: usize) -> (String, i32) {
    if x == 0.0 {
        return (String::new(), 0);
    }
    split_sci(&format!("{:.*e}", n - 1, x.abs()))
}

/// Go's `strconv.FormatFloat(x, verb, prec, 64)`, `prec` `None` meaning -1 (shortest).
pub fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let neg = x.is_sign_negative();
    match verb {
        'e' | 'E' => {
            let (digits, dp) = match prec {
                None => shortest(x),
                Some(p) => significant(x, p + 1),
            };
            let p = prec.unwrap_or(digits.len().saturating_sub(1));
            let s = fmt_e(neg, &digits, dp, p);
            if verb == 'E' { s.to_uppercase() } else { s }
        }
        'f' | 'F' => match prec {
            None => {
                let (digits, dp) = shortest(x);
                let p = (digits.len() as i32 - dp).max(0) as usize;
                fmt_f(neg, &digits, dp, p)
            }
            Some(p) => format!("{x:.p$}"),
        },
        'g' | 'G' => {
            let s = match prec {
                None => {
                    let (digits, dp) = shortest(x);
                    format_g(neg, &digits, dp, None)
                }
                Some(p) => {
                    let p = p.max(1);
                    let (digits, dp) = significant(x, p);
                    format_g(neg, &digits, dp, Some(p))
                }
            };
            if verb == 'G' { s.to_uppercase() } else { s }
        }
        'b' => {
            let bits = x.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            let e = if exp == 0 {
                -1074
            } else {
                mant |= 1u64 << 52;
                exp - 1075
            };
            format!(
                "{}{}p{}{}",
                if neg { "-" } else { "" },
                mant,
                if e >= 0 { "+" } else { "" },
                e
            )
        }
        'x' | 'X' => {
            let s = hex_float(x, prec);
            if verb == 'X' { s.to_uppercase() } else { s }
        }
        _ => format!("%{verb}"),
    }
}

/// Go's `%x` of a float64 (`-0x1.8p+01`).
fn hex_float(x: f64, prec: Option<usize>) -> String {
    let neg = x.is_sign_negative();
    let sign = if neg { "-" } else { "" };
    if x == 0.0 {
        let frac = match prec {
            Some(p) if p > 0 => format!(".{}", "0".repeat(p)),
            _ => String::new(),
        };
        return format!("{sign}0x0{frac}p+00");
    }
    let bits = x.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // subnormal: normalise
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    } else {
        exp -= 1023;
    }
    let mut frac = format!("{mant:013x}");
    match prec {
        None => {
            while frac.ends_with('0') {
                frac.pop();
            }
        }
        Some(p) => {
            if p < 13 {
                // round half to even on the hex digits
                let full = (1u64 << 52) | mant;
                let shift = 4 * (13 - p) as u32;
                let mut kept = full >> shift;
                let rem = full & ((1u64 << shift) - 1);
                let half = 1u64 << (shift - 1);
                if rem > half || (rem == half && kept & 1 == 1) {
                    kept += 1;
                }
                if kept >> (4 * p as u32) >= 2 {
                    kept >>= 1;
                    exp += 1;
                }
                let digits = kept & ((1u64 << (4 * p as u32)) - 1);
                frac = if p == 0 {
                    String::new()
                } else {
                    format!("{digits:0w$x}", w = p)
                };
            } else {
                frac.push_str(&"0".repeat(p - 13));
            }
        }
    }
    let dot = if frac.is_empty() { "" } else { "." };
    let esign = if exp >= 0 { '+' } else { '-' };
    format!("{sign}0x1{dot}{frac}p{esign}{:02}", exp.abs())
}

/// Go's `%g` decision between `%e` and `%f`, from the digits already rounded.
pub(crate) fn format_g(neg: bool, digits: &str, dp: i32, prec: Option<usize>) -> String {
    let nd = digits.len() as i32;
    let (mut eprec, mut p) = match prec {
        None => (6, nd),
        Some(p) => (p as i32, p as i32),
    };
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if p > nd {
            p = nd;
        }
        return fmt_e(neg, digits, dp, (p - 1).max(0) as usize);
    }
    if p > dp {
        p = nd;
    }
    fmt_f(neg, digits, dp, (p - dp).max(0) as usize)
}

fn fmt_e(neg: bool, digits: &str, dp: i32, prec: usize) -> String {
    let d = digits.as_bytes();
    let mut s = String::with_capacity(prec + 8);
    if neg {
        s.push('-');
    }
    s.push(if d.is_empty() { '0' } else { d[0] as char });
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(d.get(i).map(|b| *b as char).unwrap_or('0'));
        }
    }
    s.push('e');
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

fn fmt_f(neg: bool, digits: &str, dp: i32, prec: usize) -> String {
    let d = digits.as_bytes();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(d.get(i).map(|b| *b as char).unwrap_or('0'));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 1..=prec as i32 {
            let j = dp + i - 1;
            let c = if j >= 0 {
                d.get(j as usize).map(|b| *b as char).unwrap_or('0')
            } else {
                '0'
            };
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::format_float;

    #[test]
    fn formats() {
        assert_eq!(format_float(1e6, 'g', None), "1e+06");
        assert_eq!(format_float(123.456, 'g', Some(4)), "123.5");
        assert_eq!(format_float(1.0, 'g', Some(3)), "1");
        assert_eq!(format_float(0.0, 'e', None), "0e+00");
        assert_eq!(format_float(1234.5678, 'e', Some(2)), "1.23e+03");
        assert_eq!(format_float(-0.0, 'f', Some(2)), "-0.00");
        assert_eq!(format_float(1e-7, 'f', None), "0.0000001");
        assert_eq!(format_float(1.5, 'x', None), "0x1.8p+00");
        assert_eq!(format_float(1.0, 'b', None), "4503599627370496p-52");
    }
}
