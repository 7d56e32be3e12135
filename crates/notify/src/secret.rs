//! The values of the Secret `tack-notifications`: `$key` substitution in the configuration, and redaction of
//! every value from text that may reach a log or an Event.

use std::collections::BTreeMap;
use std::fmt;

/// The Secret's values by key. `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, String>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

impl Secrets {
    /// From the Secret's `data` (values not UTF-8 are skipped: they cannot appear in a URL or header).
    pub fn from_data(data: &BTreeMap<String, Vec<u8>>) -> Self {
        Secrets(
            data.iter()
                .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.clone()).ok()?)))
                .collect(),
        )
    }

    /// From pairs (tests and callers holding strings).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Secrets(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Replaces every `$key` in `text` (key: letters, digits, `_`, `-`, `.`) by the Secret's value; `$$` is a
    /// literal `$`. Err: the first key the Secret lacks.
    pub fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
                continue;
            }
            let len = after.find(|c: char| !key_char(c)).unwrap_or(after.len());
            // A key does not end with '.' (a sentence's full stop).
            let key = after[..len].trim_end_matches('.');
            if key.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(self.0.get(key).ok_or_else(|| key.to_string())?);
            rest = &after[key.len()..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `text` with every Secret value (of 4 characters or more) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<&str> = self
            .0
            .values()
            .map(String::as_str)
            .filter(|v| v.len() >= 4)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for v in values {
            if out.contains(v) {
                out = out.replace(v, "***");
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_keys_anywhere() {
        let s = Secrets::from_pairs([("tok", "abc"), ("a.b-c_d", "X")]);
        assert_eq!(s.substitute("Bearer $tok").unwrap(), "Bearer abc");
        assert_eq!(s.substitute("$a.b-c_d/$tok.").unwrap(), "X/abc.");
        assert_eq!(s.substitute("cost $$5 $ alone").unwrap(), "cost $5 $ alone");
        assert_eq!(s.substitute("$nope").unwrap_err(), "nope");
    }

    #[test]
    fn redacts_and_hides_values_from_debug() {
        let s = Secrets::from_pairs([("tok", "supersecret"), ("short", "ab")]);
        assert_eq!(s.redact("x supersecret y ab"), "x *** y ab");
        assert_eq!(format!("{s:?}"), r#"["short", "tok"]"#);
    }
}
