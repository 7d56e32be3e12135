//! Setting a key of a Helm values file (a dot-separated path such as `frontend.image.tag`) while keeping every
//! other byte of the file unchanged. The path must exist, in block style, and end at a scalar: promotion does not
//! invent keys a chart may not read.

use crate::Error;
use crate::text::{indent_of, lines, scalar_value, yaml_scalar};

/// Returns `text` with the scalar at `key_path` replaced by `value`.
pub fn set_key(text: &str, key_path: &str, value: &str) -> Result<String, Error> {
    let all = lines(text);
    let idx = find(text, key_path)?;
    let l = &all[idx];
    let body = l.body;
    let colon = colon_of(body).ok_or_else(|| missing(key_path))?;
    let rest = &body[colon + 1..];
    let comment = rest.find(" #").map(|i| &rest[i..]).unwrap_or("");
    let mut out = String::with_capacity(text.len() + value.len());
    for (i, line) in all.iter().enumerate() {
        if i == idx {
            out.push_str(&format!("{}: {}{}", &body[..colon], yaml_scalar(value), comment));
        } else {
            out.push_str(line.body);
        }
        out.push_str(line.end);
    }
    Ok(out)
}

/// The scalar at `key_path`, when present.
pub fn get_key(text: &str, key_path: &str) -> Option<String> {
    let idx = find(text, key_path).ok()?;
    let all = lines(text);
    let body = all[idx].body;
    let colon = colon_of(body)?;
    Some(scalar_value(&body[colon + 1..]))
}

fn missing(key_path: &str) -> Error {
    Error::UnknownKey(key_path.to_string())
}

/// The index of the line holding the last segment of `key_path` with a scalar value.
fn find(text: &str, key_path: &str) -> Result<usize, Error> {
    let all = lines(text);
    let segments: Vec<&str> = key_path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Error::Config(format!("invalid values key path {key_path:?}")));
    }
    let (mut from, mut to, mut parent_indent) = (0usize, all.len(), None::<usize>);
    for (n, seg) in segments.iter().enumerate() {
        // The child indentation: that of the first content line in the range.
        let child_indent = (from..to)
            .map(|i| all[i].body)
            .find(|b| !b.trim().is_empty() && !b.trim_start().starts_with('#'))
            .map(indent_of);
        let Some(child_indent) = child_indent else {
            return Err(missing(key_path));
        };
        if parent_indent.is_some_and(|p| child_indent <= p) {
            return Err(missing(key_path));
        }
        let Some(idx) = (from..to).find(|&i| {
            let b = all[i].body;
            indent_of(b) == child_indent && key_name(b.trim_start()) == Some(seg)
        }) else {
            return Err(missing(key_path));
        };
        let last = n + 1 == segments.len();
        let body = all[idx].body;
        let after = colon_of(body).map(|c| body[c + 1..].trim()).unwrap_or("");
        let after_is_empty = after.is_empty() || after.starts_with('#');
        if last {
            if after_is_empty || after.starts_with(['|', '>', '{', '[', '&', '*']) {
                return Err(Error::Config(format!(
                    "the values key {key_path:?} does not hold a plain scalar"
                )));
            }
            return Ok(idx);
        }
        if !after_is_empty {
            return Err(missing(key_path));
        }
        let end = (idx + 1..to)
            .find(|&i| {
                let b = all[i].body;
                !b.trim().is_empty() && !b.trim_start().starts_with('#') && indent_of(b) <= child_indent
            })
            .unwrap_or(to);
        (from, to, parent_indent) = (idx + 1, end, Some(child_indent));
    }
    Err(missing(key_path))
}

fn colon_of(body: &str) -> Option<usize> {
    let t = body.trim_start();
    let offset = body.len() - t.len();
    if let Some(q) = t.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = t[1..].find(q)? + 1;
        return t[close..].find(':').map(|c| offset + close + c);
    }
    t.find(':').map(|c| offset + c)
}

fn key_name(t: &str) -> Option<&str> {
    let (k, rest) = t.split_once(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) || k.starts_with('-') || k.starts_with('#') {
        return None;
    }
    Some(k.trim().trim_matches(['"', '\'']))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: &str = "# values\nreplicas: 2\nfrontend:\n  image:\n    repository: gb-frontend # the app\n    tag: \"v4\" # release\n  port: 80\nredis:\n  image:\n    tag: '6.0'\n";

    #[test]
    fn sets_nested_scalar() {
        let out = set_key(VALUES, "frontend.image.tag", "v5").expect("set");
        assert_eq!(out, VALUES.replace("tag: \"v4\" # release", "tag: v5 # release"));
        assert_eq!(get_key(&out, "frontend.image.tag").as_deref(), Some("v5"));
        let out = set_key(VALUES, "redis.image.tag", "7.2").expect("set");
        assert_eq!(out, VALUES.replace("tag: '6.0'", "tag: \"7.2\""));
    }

    #[test]
    fn missing_or_non_scalar_keys_are_errors() {
        assert!(matches!(
            set_key(VALUES, "frontend.image.digest", "x"),
            Err(Error::UnknownKey(_))
        ));
        assert!(matches!(set_key(VALUES, "port", "x"), Err(Error::UnknownKey(_))));
        assert!(set_key(VALUES, "frontend.image", "x").is_err());
        assert!(set_key(VALUES, "frontend..tag", "x").is_err());
    }
}
