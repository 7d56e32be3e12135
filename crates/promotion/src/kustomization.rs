//! Setting an image's tag in a kustomization's `images:` list, as `kustomize edit set image NAME:TAG` does,
//! while keeping every other byte of the file (comments, order, quoting) unchanged.
//!
//! The list is found and edited line by line (block style, the form `kustomize edit` and people write). An
//! existing entry for the image gets its `newTag` replaced (or added) and its `digest` removed; a missing entry
//! is appended (creating `images:` at the end of the file when absent). Flow-style lists other than `[]` are
//! refused rather than rewritten. Unlike `kustomize edit`, an entry's `newName` is kept (a stage pulling from
//! its own mirror keeps it) and the entries are not sorted.

use crate::Error;
use crate::text::{Line, indent_of, lines, scalar_value, yaml_scalar};

/// Returns `text` with `image` set to `tag` (and to `new_name` when given) in the `images:` list.
pub fn set_image(text: &str, image: &str, new_name: Option<&str>, tag: &str) -> Result<String, Error> {
    let all = lines(text);
    let Some(key_idx) = all
        .iter()
        .position(|l| indent_of(l.body) == 0 && key_of(l.body) == Some("images"))
    else {
        return Ok(append_images_key(text, image, new_name, tag));
    };
    let after_key = all[key_idx].body["images:".len()..].trim();
    let after_key = strip_comment(after_key);
    if after_key == "[]" {
        let mut out = String::with_capacity(text.len() + 64);
        for (i, l) in all.iter().enumerate() {
            if i == key_idx {
                out.push_str("images:");
                out.push_str(l.end);
                if l.end.is_empty() {
                    out.push('\n');
                }
                out.push_str(&entry_text("", image, new_name, tag));
            } else {
                out.push_str(l.body);
                out.push_str(l.end);
            }
        }
        return Ok(out);
    }
    if !after_key.is_empty() {
        return Err(Error::Config(format!(
            "the kustomization's images: is not a block list ({after_key:?}); write it one entry per line"
        )));
    }
    let block_end = block_end(&all, key_idx);
    let items = items(&all, key_idx + 1, block_end);
    let item_indent = items.first().map(|it| it.indent).unwrap_or(0);
    let found = items.iter().find(|it| it.name.as_deref() == Some(image));
    let mut out: Vec<String> = Vec::with_capacity(all.len() + 3);
    match found {
        Some(item) => {
            let column = item.column.unwrap_or(item.indent + 2);
            let field_indent = " ".repeat(column);
            // When the dropped digest is the item's first line, the next field takes its `- `.
            let dash = format!(
                "{}-{}",
                " ".repeat(item.indent),
                " ".repeat(column.saturating_sub(item.indent + 1).max(1))
            );
            let mut dash_pending = false;
            let mut tag_done = false;
            let mut name_done = new_name.is_none();
            for (i, l) in all.iter().enumerate() {
                let key = item.field(&all, i).and_then(key_of);
                let in_item = key.is_some();
                if in_item && key == Some("digest") {
                    // kustomize edit set image NAME:TAG drops the digest.
                    dash_pending = i == item.start;
                } else {
                    let text = if in_item && key == Some("newTag") {
                        tag_done = true;
                        replace_value(l, tag)
                    } else if in_item
                        && key == Some("newName")
                        && let Some(n) = new_name
                    {
                        name_done = true;
                        replace_value(l, n)
                    } else {
                        format!("{}{}", l.body, l.end)
                    };
                    match text.get(column..) {
                        Some(rest) if dash_pending && in_item => {
                            dash_pending = false;
                            out.push(format!("{dash}{rest}"));
                        }
                        _ => out.push(text),
                    }
                }
                if i == item.last_field {
                    // Right after the item's last field line: add what the item lacks.
                    if !name_done && let Some(n) = new_name {
                        out.push(format!("{field_indent}newName: {}\n", yaml_scalar(n)));
                        name_done = true;
                    }
                    if !tag_done && !item_has(&all, item, "newTag") {
                        out.push(format!("{field_indent}newTag: {}\n", yaml_scalar(tag)));
                        tag_done = true;
                    }
                }
            }
            ensure_newline_between(&mut out);
        }
        None => {
            let last = (key_idx..block_end)
                .rev()
                .find(|&i| !all[i].body.trim().is_empty() && !all[i].body.trim_start().starts_with('#'))
                .unwrap_or(key_idx);
            for (i, l) in all.iter().enumerate() {
                out.push(format!("{}{}", l.body, l.end));
                if i == last {
                    if l.end.is_empty() {
                        out.push("\n".into());
                    }
                    out.push(entry_text(&" ".repeat(item_indent), image, new_name, tag));
                }
            }
        }
    }
    Ok(out.concat())
}

/// The tag `image` has in the `images:` list (`newTag`), if it has an entry with one.
pub fn image_tag(text: &str, image: &str) -> Option<String> {
    let all = lines(text);
    let key_idx = all
        .iter()
        .position(|l| indent_of(l.body) == 0 && key_of(l.body) == Some("images"))?;
    let end = block_end(&all, key_idx);
    let items = items(&all, key_idx + 1, end);
    let item = items.iter().find(|it| it.name.as_deref() == Some(image))?;
    item.field_value(&all, "newTag")
}

fn item_has(all: &[Line<'_>], item: &Item, key: &str) -> bool {
    item.field_line(all, key).is_some()
}

fn ensure_newline_between(out: &mut [String]) {
    let n = out.len();
    for line in out.iter_mut().take(n.saturating_sub(1)) {
        if !line.ends_with('\n') {
            line.push('\n');
        }
    }
}

pub(crate) fn replace_value(l: &Line<'_>, value: &str) -> String {
    let colon = l.body.find(':').unwrap_or(l.body.len());
    let rest = &l.body[colon + 1..];
    let comment = rest.find(" #").map(|i| &rest[i..]).unwrap_or("");
    format!("{}: {}{}{}", &l.body[..colon], yaml_scalar(value), comment, l.end)
}

fn entry_text(indent: &str, image: &str, new_name: Option<&str>, tag: &str) -> String {
    let mut s = format!("{indent}- name: {}\n", yaml_scalar(image));
    if let Some(n) = new_name {
        s.push_str(&format!("{indent}  newName: {}\n", yaml_scalar(n)));
    }
    s.push_str(&format!("{indent}  newTag: {}\n", yaml_scalar(tag)));
    s
}

fn append_images_key(text: &str, image: &str, new_name: Option<&str>, tag: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("images:\n");
    out.push_str(&entry_text("", image, new_name, tag));
    out
}

/// The key of a `key: value` line (no leading spaces), if it is one.
pub(crate) fn key_of(body: &str) -> Option<&str> {
    let (k, rest) = body.split_once(':')?;
    if k.is_empty() || k.contains(' ') || k.starts_with('#') || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some(k.trim_matches(['"', '\'']))
}

pub(crate) fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        return "";
    }
    s.split(" #").next().unwrap_or(s).trim()
}

/// The top-level key `key`'s line and the end of its block (the first line of the next top-level key).
pub(crate) fn top_level_block(all: &[Line<'_>], key: &str) -> Option<(usize, usize)> {
    let key_idx = all
        .iter()
        .position(|l| indent_of(l.body) == 0 && key_of(l.body) == Some(key))?;
    Some((key_idx, block_end(all, key_idx)))
}

/// The first line after the `images:` key that belongs to the next top-level key.
pub(crate) fn block_end(all: &[Line<'_>], key_idx: usize) -> usize {
    (key_idx + 1..all.len())
        .find(|&i| {
            let b = all[i].body;
            !b.trim().is_empty() && indent_of(b) == 0 && !b.starts_with('-') && !b.starts_with('#')
        })
        .unwrap_or(all.len())
}

impl Item {
    /// Line `i`'s `key: value` text when it is one of the item's own fields (not a line of a field's value).
    pub fn field<'a>(&self, all: &[Line<'a>], i: usize) -> Option<&'a str> {
        if i < self.start || i >= self.end {
            return None;
        }
        let b = all[i].body;
        let t = b.trim_start();
        let field = if i == self.start {
            t.get(1..)?.trim_start()
        } else {
            t
        };
        let column = b.len() - field.len();
        (Some(column) == self.column && !field.is_empty() && !field.starts_with('#')).then_some(field)
    }

    /// The line of the item's own field `key`.
    pub fn field_line(&self, all: &[Line<'_>], key: &str) -> Option<usize> {
        (self.start..self.end).find(|&i| self.field(all, i).and_then(key_of) == Some(key))
    }

    /// The scalar value of the item's own field `key`.
    pub fn field_value(&self, all: &[Line<'_>], key: &str) -> Option<String> {
        let line = self.field_line(all, key)?;
        let field = self.field(all, line)?;
        Some(scalar_value(&field[key.len() + 1..]))
    }
}

/// One entry of a block list: its lines `start..end`, the last line holding one of its fields, and its `name:`.
pub(crate) struct Item {
    pub indent: usize,
    pub start: usize,
    pub end: usize,
    pub last_field: usize,
    pub name: Option<String>,
    /// The column of the item's own fields (`None` until its first field is seen).
    pub column: Option<usize>,
}

pub(crate) fn items(all: &[Line<'_>], from: usize, to: usize) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for (i, line) in all.iter().enumerate().take(to).skip(from) {
        let b = line.body;
        let t = b.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let starts_item = t.starts_with("- ") || t == "-";
        if starts_item {
            if let Some(last) = out.last_mut() {
                last.end = i;
            }
            let after_dash = t[1..].trim_start();
            out.push(Item {
                indent: indent_of(b),
                start: i,
                end: to,
                last_field: i,
                name: None,
                column: (!after_dash.is_empty()).then(|| b.len() - after_dash.len()),
            });
        }
        if let Some(item) = out.last_mut() {
            item.last_field = i;
            let field = if starts_item { t[1..].trim_start() } else { t };
            let column = if starts_item {
                b.len() - field.len()
            } else {
                indent_of(b)
            };
            // The item's own fields are at its first field's column; deeper lines belong to a field's value
            // (a `valuesInline` holding its own `name:`).
            let own = *item.column.get_or_insert(column) == column;
            if own && item.name.is_none() && key_of(field) == Some("name") {
                item.name = Some(scalar_value(&field["name:".len()..]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_tag_keeping_everything_else() {
        let text = "# env qa\nresources:\n- ../base # shared\nimages:\n- name: nginx\n  newTag: \"1.0\" # pinned\n  digest: sha256:abc\n- name: redis\n  newTag: \"6\"\nnamePrefix: qa-\n";
        let out = set_image(text, "nginx", None, "1.27.1").expect("edit");
        assert_eq!(
            out,
            "# env qa\nresources:\n- ../base # shared\nimages:\n- name: nginx\n  newTag: 1.27.1 # pinned\n- name: redis\n  newTag: \"6\"\nnamePrefix: qa-\n"
        );
        assert_eq!(image_tag(&out, "nginx").as_deref(), Some("1.27.1"));
        assert_eq!(image_tag(&out, "redis").as_deref(), Some("6"));
    }

    #[test]
    fn adds_missing_tag_entry_and_key() {
        let text = "images:\n  - name: nginx\n    newName: my/nginx\nresources:\n  - a.yaml\n";
        let out = set_image(text, "nginx", None, "2").expect("edit");
        assert_eq!(
            out,
            "images:\n  - name: nginx\n    newName: my/nginx\n    newTag: \"2\"\nresources:\n  - a.yaml\n"
        );
        let out = set_image(text, "redis", None, "v7").expect("edit");
        assert_eq!(
            out,
            "images:\n  - name: nginx\n    newName: my/nginx\n  - name: redis\n    newTag: v7\nresources:\n  - a.yaml\n"
        );
        let out = set_image("resources:\n- a.yaml", "redis", Some("r/redis"), "v7").expect("edit");
        assert_eq!(
            out,
            "resources:\n- a.yaml\nimages:\n- name: redis\n  newName: r/redis\n  newTag: v7\n"
        );
        let out = set_image("images: []\nresources:\n- a.yaml\n", "redis", None, "v7").expect("edit");
        assert_eq!(
            out,
            "images:\n- name: redis\n  newTag: v7\nresources:\n- a.yaml\n"
        );
    }

    #[test]
    fn refuses_flow_lists() {
        assert!(set_image("images: [{name: a, newTag: b}]\n", "a", None, "c").is_err());
    }
}
