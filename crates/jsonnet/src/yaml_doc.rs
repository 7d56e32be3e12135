//! `std.manifestYamlDoc` and `std.manifestYamlStream` as go-jsonnet writes them: strings quoted as JSON unless
//! they end in a newline (then a `|` block), numbers in plain decimal notation, keys quoted unless `quote_keys`
//! is false and the key cannot be read as anything but a string.

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::builtin;
use jrsonnet_evaluator::{Result, Val, ensure_sufficient_stack};

use crate::manifest::write_string;

const INDENT: &str = "  ";

/// `std.manifestYamlDoc(value, indent_array_in_object=false, quote_keys=true)`.
#[builtin]
pub(crate) fn builtin_manifest_yaml_doc(
    value: Val,
    #[default(false)] indent_array_in_object: bool,
    #[default(true)] quote_keys: bool,
) -> Result<String> {
    let mut out = String::new();
    let style = Style {
        indent_array_in_object,
        quote_keys,
    };
    write_doc(&mut out, &value, "", style)?;
    Ok(out)
}

/// `std.manifestYamlStream(value, indent_array_in_object=false, c_document_end=true, quote_keys=true)`.
#[builtin]
pub(crate) fn builtin_manifest_yaml_stream(
    value: Val,
    #[default(false)] indent_array_in_object: bool,
    #[default(true)] c_document_end: bool,
    #[default(true)] quote_keys: bool,
) -> Result<String> {
    let Val::Arr(items) = &value else {
        return Err(ErrorKind::RuntimeError(
            format!("manifestYamlStream only takes arrays, got {}", value.value_type()).into(),
        )
        .into());
    };
    let style = Style {
        indent_array_in_object,
        quote_keys,
    };
    let mut out = String::from("---\n");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str("\n---\n");
        }
        write_doc(&mut out, &item?, "", style)?;
    }
    out.push_str(if c_document_end { "\n...\n" } else { "\n" });
    Ok(out)
}

#[derive(Clone, Copy)]
struct Style {
    indent_array_in_object: bool,
    quote_keys: bool,
}

/// Appends `val` at the indentation `indent` of its enclosing collection.
fn write_doc(out: &mut String, val: &Val, indent: &str, style: Style) -> Result<()> {
    let _level = crate::manifest_depth::enter()?;
    match val {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&format!("{}", n.get())),
        Val::Str(s) => write_scalar(out, &s.clone().into_flat(), indent),
        Val::Func(_) => {}
        Val::Arr(items) if items.is_empty() => out.push_str("[]"),
        Val::Arr(items) => ensure_sufficient_stack(|| {
            for (i, item) in items.iter().enumerate() {
                let item = item?;
                if i > 0 {
                    out.push('\n');
                    out.push_str(indent);
                }
                out.push('-');
                match &item {
                    Val::Arr(inner) if !inner.is_empty() => {
                        out.push('\n');
                        out.push_str(indent);
                        out.push_str(INDENT);
                    }
                    _ => out.push(' '),
                }
                let inner = nested(indent, &item);
                write_doc(out, &item, &inner, style)?;
            }
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
        Val::Obj(obj) => ensure_sufficient_stack(|| {
            obj.run_assertions()?;
            let mut keys = obj.fields();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            keys.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            for (i, key) in keys.into_iter().enumerate() {
                let value = obj.get_or_bail(key.clone())?;
                if i > 0 {
                    out.push('\n');
                    out.push_str(indent);
                }
                if style.quote_keys || !bare_safe(&key) {
                    write_string(out, &key);
                } else {
                    out.push_str(&key);
                }
                out.push(':');
                let mut inner = indent.to_string();
                match &value {
                    Val::Arr(items) if !items.is_empty() => {
                        out.push('\n');
                        out.push_str(indent);
                        if style.indent_array_in_object {
                            out.push_str(INDENT);
                            inner.push_str(INDENT);
                        }
                    }
                    Val::Obj(o) if !o.fields().is_empty() => {
                        out.push('\n');
                        out.push_str(indent);
                        out.push_str(INDENT);
                        inner.push_str(INDENT);
                    }
                    _ => out.push(' '),
                }
                write_doc(out, &value, &inner, style)?;
            }
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
    }
    Ok(())
}

/// The indentation of the contents of an array element.
fn nested(indent: &str, item: &Val) -> String {
    match item {
        Val::Arr(_) | Val::Obj(_) => format!("{indent}{INDENT}"),
        _ => indent.to_string(),
    }
}

/// A string: `""`, a `|` block when it ends in a newline, JSON-quoted otherwise.
fn write_scalar(out: &mut String, s: &str, indent: &str) {
    if s.is_empty() {
        out.push_str("\"\"");
    } else if let Some(body) = s.strip_suffix('\n') {
        out.push('|');
        for line in body.split('\n') {
            out.push('\n');
            out.push_str(indent);
            out.push_str(INDENT);
            out.push_str(line);
        }
    } else {
        write_string(out, s);
    }
}

/// Whether a key can be written without quotes: only letters, digits, `_`, `-`, `/`, `.`, and not a word YAML
/// reads as something else (booleans, null, infinities), a date, a binary or hexadecimal number, an integer
/// or a float.
fn bare_safe(key: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", ".nan", "-.inf", "+.inf", ".inf", "null", "-",
        "---", "''",
    ];
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
    {
        return false;
    }
    if RESERVED.iter().any(|r| key.eq_ignore_ascii_case(r)) {
        return false;
    }
    let date_like = key.chars().all(|c| c.is_ascii_digit() || c == '-') && key.matches('-').count() == 2;
    !(date_like || binary(key) || has_hex(key) || number(key))
}

/// `-0b101`, `0b1_0`.
fn binary(key: &str) -> bool {
    let digits = key.strip_prefix('-').unwrap_or(key);
    digits
        .strip_prefix("0b")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| matches!(c, '0' | '1' | '_')))
}

/// `0x` followed by a hexadecimal digit anywhere in the key.
fn has_hex(key: &str) -> bool {
    key.match_indices("0x").any(|(at, _)| {
        key[at + 2..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_hexdigit() || c == '_')
    })
}

/// Whether the key reads as a number in Go's syntax: decimal digits (`_` between digits), at most one `.`,
/// an optional exponent; or an infinity or NaN. Keys reaching here hold no `+`, so only `-` can be a sign.
fn number(key: &str) -> bool {
    let body = key.strip_prefix('-').unwrap_or(key);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return true;
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (whole, frac) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits_ok = |part: &str| {
        let bytes = part.as_bytes();
        bytes.iter().enumerate().all(|(i, b)| {
            b.is_ascii_digit()
                || *b == b'_'
                    && i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit()
        })
    };
    let mantissa_ok = digits_ok(whole)
        && frac.is_none_or(digits_ok)
        && !(whole.is_empty() && frac.is_none_or(str::is_empty));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix('-').unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_read_as_other_types_are_not_bare() {
        for quoted in [
            "",
            "1",
            "0x1f",
            "x0x1",
            "1e3",
            "2020-01-01",
            "0b101",
            "yes",
            "-",
            "Inf",
            "1_000",
            ".5",
            "1.",
            "-2",
        ] {
            assert!(!bare_safe(quoted), "{quoted} must be quoted");
        }
        for bare in ["_x", "a-b", "a.b/c", "e", "1_", "1__0", "1e", "x1", "0b", "0b2"] {
            assert!(bare_safe(bare), "{bare} may be bare");
        }
    }
}
