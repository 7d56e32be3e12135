//! Line-level helpers for editing YAML text without re-serialising it.

/// One line of a text: its content and its line ending (`"\n"`, `"\r\n"` or `""` for a last line without one).
pub(crate) struct Line<'a> {
    pub body: &'a str,
    pub end: &'a str,
}

/// Splits `text` into lines, keeping each line's ending so that joining them gives `text` back.
pub(crate) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, after) = match rest.find('\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (body, end) = if let Some(b) = line.strip_suffix("\r\n") {
            (b, "\r\n")
        } else if let Some(b) = line.strip_suffix('\n') {
            (b, "\n")
        } else {
            (line, "")
        };
        out.push(Line { body, end });
        rest = after;
    }
    out
}

/// The number of leading spaces.
pub(crate) fn indent_of(body: &str) -> usize {
    body.len() - body.trim_start_matches(' ').len()
}

/// The scalar after a `key:`, without quotes and trailing comment.
pub(crate) fn scalar_value(raw: &str) -> String {
    let v = raw.trim();
    if let Some(inner) = v.strip_prefix('"') {
        return inner.split('"').next().unwrap_or("").to_string();
    }
    if let Some(inner) = v.strip_prefix('\'') {
        return inner.split('\'').next().unwrap_or("").to_string();
    }
    v.split(" #").next().unwrap_or(v).trim().to_string()
}

/// `value` as a YAML scalar: plain when YAML reads it back as the same string, double-quoted otherwise (a tag
/// such as `1.0` or `true` would otherwise become a number or a boolean).
pub(crate) fn yaml_scalar(value: &str) -> String {
    let plain_safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
        && !value.starts_with(['-', ':', '@', '.'])
        && !value.contains(": ")
        && !value.ends_with(':')
        && !looks_like_non_string(value);
    if plain_safe {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn looks_like_non_string(v: &str) -> bool {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"];
    if WORDS.contains(&v.to_ascii_lowercase().as_str()) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    let digits = lower.replace('_', "");
    digits.parse::<f64>().is_ok()
        || lower
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
        || lower
            .strip_prefix("0o")
            .is_some_and(|o| !o.is_empty() && o.chars().all(|c| ('0'..='7').contains(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for text in ["a\nb\r\nc", "a\n", "", "\n\n"] {
            let joined: String = lines(text)
                .iter()
                .map(|l| format!("{}{}", l.body, l.end))
                .collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(yaml_scalar("v5"), "v5");
        assert_eq!(yaml_scalar("1.27.1"), "1.27.1");
        assert_eq!(yaml_scalar("1.0"), "\"1.0\"");
        assert_eq!(yaml_scalar("6"), "\"6\"");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("v1.2-rc.1"), "v1.2-rc.1");
        assert_eq!(yaml_scalar("gcr.io/a/b"), "gcr.io/a/b");
        assert_eq!(scalar_value(" \"1.0\" # x"), "1.0");
        assert_eq!(scalar_value(" v2 # x"), "v2");
    }
}
