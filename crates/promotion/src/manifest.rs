//! Setting a container image's tag in plain manifests: every `image: NAME[:TAG][@DIGEST]` line whose name is the
//! promoted image gets the new tag; nothing else in the file changes.

use crate::text::lines;

/// Returns `text` with every reference to `image` set to `image:tag`, and how many references were changed.
pub fn set_image(text: &str, image: &str, tag: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = 0;
    for l in lines(text) {
        match image_value(l.body) {
            Some((start, end)) if name_of(unquote(&l.body[start..end])) == image => {
                let quote = &l.body[start..start + usize::from(l.body[start..end].starts_with(['"', '\'']))];
                out.push_str(&l.body[..start]);
                out.push_str(&format!("{quote}{image}:{tag}{quote}"));
                out.push_str(&l.body[end..]);
                changed += 1;
            }
            _ => out.push_str(l.body),
        }
        out.push_str(l.end);
    }
    (out, changed)
}

/// The tags `image` has in `text`'s `image:` lines.
pub fn image_tags(text: &str, image: &str) -> Vec<String> {
    lines(text)
        .iter()
        .filter_map(|l| image_value(l.body).map(|(s, e)| unquote(&l.body[s..e]).to_string()))
        .filter(|r| name_of(r) == image)
        .filter_map(|r| tag_of(&r).map(str::to_string))
        .collect()
}

/// The byte range of the value of an `image:` key on this line (`image: x`, `- image: x`).
fn image_value(body: &str) -> Option<(usize, usize)> {
    let t = body.trim_start().trim_start_matches("- ").trim_start();
    let rest = t.strip_prefix("image:")?;
    if !rest.starts_with(' ') {
        return None;
    }
    let value_start = body.len() - rest.len() + (rest.len() - rest.trim_start().len());
    let v = &body[value_start..];
    let len = if v.starts_with(['"', '\'']) {
        let q = &v[..1];
        v[1..].find(q).map(|i| i + 2)?
    } else {
        v.find(" #").unwrap_or(v.len())
    };
    let len = v[..len].trim_end().len();
    (len > 0).then_some((value_start, value_start + len))
}

fn unquote(v: &str) -> &str {
    v.trim_matches(['"', '\''])
}

/// The name part of an image reference: without `@digest` and `:tag` (a `:` before the last `/` is a port).
pub fn name_of(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// The tag of an image reference, if it has one.
pub fn tag_of(reference: &str) -> Option<&str> {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let name = name_of(reference);
    no_digest.get(name.len() + 1..).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_matching_images_only() {
        let text = "spec:\n  containers:\n  - name: php-redis\n    image: gcr.io/google-samples/gb-frontend:v5 # app\n  - image: \"localhost:5000/redis:6\"\n    name: r\n";
        let (out, n) = set_image(text, "gcr.io/google-samples/gb-frontend", "v6");
        assert_eq!(n, 1);
        assert_eq!(out, text.replace("gb-frontend:v5 # app", "gb-frontend:v6 # app"));
        let (out, n) = set_image(text, "localhost:5000/redis", "7");
        assert_eq!(n, 1);
        assert!(out.contains("- image: \"localhost:5000/redis:7\"\n"), "{out}");
        assert_eq!(set_image(text, "nginx", "1").1, 0);
        assert_eq!(image_tags(text, "localhost:5000/redis"), vec!["6".to_string()]);
    }

    #[test]
    fn reference_parts() {
        assert_eq!(name_of("localhost:5000/a/b:1@sha256:x"), "localhost:5000/a/b");
        assert_eq!(tag_of("localhost:5000/a/b:1@sha256:x"), Some("1"));
        assert_eq!(name_of("localhost:5000/a"), "localhost:5000/a");
        assert_eq!(tag_of("nginx"), None);
    }
}
