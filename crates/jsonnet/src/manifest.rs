//! Output exactly as go-jsonnet's `jsonnet` command writes it: JSON indented by three spaces with sorted keys,
//! numbers as `%.17g` (integers as `%.0f`), YAML streams (`-y`) and string output (`-S`).

use serde_json::Value;

/// The JSON text of `value` as go-jsonnet manifests it (without the final newline).
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, "");
    out
}

/// `-y`: the elements of a top-level array as a YAML stream of JSON documents, each after `---`, then `...`.
pub fn to_yaml_stream(value: &Value) -> Result<String, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "RUNTIME ERROR: stream mode: top-level object was a {}, should be an array whose elements hold the JSON for each document in the stream.\n\tDuring manifestation\t\n",
            type_name(value)
        ));
    };
    let mut out = String::new();
    for item in items {
        out.push_str("---\n");
        write_value(&mut out, item, "");
        out.push('\n');
    }
    if !items.is_empty() {
        out.push_str("...\n");
    }
    Ok(out)
}

/// `-S`: the result must be a string, written as it is.
pub fn to_string_output(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "RUNTIME ERROR: expected string result, got: {}\n\tDuring manifestation\t\n",
            type_name(other)
        )),
    }
}

/// go-jsonnet's name of a JSON value's type.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn write_value(out: &mut String, value: &Value, indent: &str) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[ ]"),
        Value::Array(items) => {
            let inner = format!("{indent}   ");
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&inner);
                write_value(out, item, &inner);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(indent);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{ }"),
        Value::Object(map) => {
            let inner = format!("{indent}   ");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                out.push_str(&inner);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, &map[key.as_str()], &inner);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(indent);
            out.push('}');
        }
    }
}

/// A JSON string as go-jsonnet escapes it: control characters and U+007F..U+009F as `\u00XX`.
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of characters that need no escape are copied as they are.
    let mut plain = 0;
    for (at, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => "",
            _ => continue,
        };
        out.push_str(&s[plain..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(escape);
        }
        plain = at + c.len_utf8();
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// A number as go-jsonnet writes it: integers in full (`%.0f`), others as `%.17g`.
pub fn number(v: f64) -> String {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: integers below are exact in an i64
    if v == v.floor() {
        if v.abs() < EXACT && !(v == 0.0 && v.is_sign_negative()) {
            #[allow(clippy::cast_possible_truncation)]
            return (v as i64).to_string();
        }
        return format!("{v:.0}");
    }
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = (exp + 1) as usize;
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::number;

    #[test]
    fn numbers_as_go_jsonnet() {
        assert_eq!(number(0.1), "0.10000000000000001");
        assert_eq!(number(1e-7), "9.9999999999999995e-08");
        assert_eq!(number(1e-5), "1.0000000000000001e-05");
        assert_eq!(number(123456.789), "123456.789");
        assert_eq!(number(-1.5), "-1.5");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.0 / 3.0), "0.33333333333333331");
        assert_eq!(number(5e-324), "4.9406564584124654e-324");
    }
}
