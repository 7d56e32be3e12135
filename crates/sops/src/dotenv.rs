//! SOPS's dotenv files: `KEY=VALUE` lines (`\n` in a value is a newline, `#` lines are comments) with the
//! metadata flattened into `sops_…` keys (`sops_age__list_0__map_enc=…`).

use crate::error::SopsError;
use crate::tree::Node;

/// The file's entries (a mapping of strings, comments dropped) and its unflattened metadata.
pub(crate) fn parse(src: &str) -> Result<(Node, Option<Node>), SopsError> {
    let mut entries = Vec::new();
    let mut meta: Vec<(String, Node)> = Vec::new();
    for (i, line) in src.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(SopsError::Syntax {
                message: format!("line {}: a dotenv line must be KEY=VALUE", i + 1),
            });
        };
        let value = value.replace("\\n", "\n");
        match key.strip_prefix("sops_") {
            Some(flat) => insert(&mut meta, flat, value)?,
            None => entries.push((key.to_string(), Node::Str(value))),
        }
    }
    let meta = (!meta.is_empty()).then_some(Node::Map(meta));
    Ok((Node::Map(entries), meta))
}

/// One path step of a flattened key.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `age__list_0__map_enc` into `age`, `[0]`, `enc`.
fn steps(flat: &str) -> Result<Vec<Step<'_>>, SopsError> {
    let mut out = Vec::new();
    let mut rest = flat;
    let mut kind_is_index = false;
    loop {
        let next = [("__map_", false), ("__list_", true)]
            .iter()
            .filter_map(|(sep, idx)| rest.find(sep).map(|p| (p, sep.len(), *idx)))
            .min_by_key(|(p, _, _)| *p);
        let (part, tail) = match next {
            Some((p, len, idx)) => {
                let part = &rest[..p];
                (part, Some((&rest[p + len..], idx)))
            }
            None => (rest, None),
        };
        if kind_is_index {
            let i = part.parse::<usize>().map_err(|_| SopsError::Metadata {
                message: format!("`sops_{flat}` has a bad list index"),
            })?;
            out.push(Step::Index(i));
        } else {
            out.push(Step::Key(part));
        }
        match tail {
            Some((t, idx)) => {
                rest = t;
                kind_is_index = idx;
            }
            None => return Ok(out),
        }
    }
}

fn insert(meta: &mut Vec<(String, Node)>, flat: &str, value: String) -> Result<(), SopsError> {
    let steps = steps(flat)?;
    let mut slot: &mut Node = {
        let Some(Step::Key(first)) = steps.first() else {
            return Err(SopsError::Metadata {
                message: format!("`sops_{flat}` does not start with a key"),
            });
        };
        let pos = match meta.iter().position(|(k, _)| k == first) {
            Some(p) => p,
            None => {
                meta.push((first.to_string(), Node::Null));
                meta.len() - 1
            }
        };
        &mut meta[pos].1
    };
    for step in &steps[1..] {
        slot = match step {
            Step::Key(k) => {
                if !matches!(slot, Node::Map(_)) {
                    *slot = Node::Map(Vec::new());
                }
                let Node::Map(entries) = slot else { unreachable!() };
                let pos = match entries.iter().position(|(e, _)| e == k) {
                    Some(p) => p,
                    None => {
                        entries.push((k.to_string(), Node::Null));
                        entries.len() - 1
                    }
                };
                &mut entries[pos].1
            }
            Step::Index(i) => {
                if !matches!(slot, Node::Seq(_)) {
                    *slot = Node::Seq(Vec::new());
                }
                let Node::Seq(items) = slot else { unreachable!() };
                if *i > 1024 {
                    return Err(SopsError::Metadata {
                        message: format!("`sops_{flat}` has a list index over 1024"),
                    });
                }
                while items.len() <= *i {
                    items.push(Node::Null);
                }
                &mut items[*i]
            }
        };
    }
    *slot = match value.as_str() {
        "true" | "True" => Node::Bool(true),
        "false" | "False" => Node::Bool(false),
        _ => Node::Str(value),
    };
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unflattens_metadata() {
        let (data, meta) = parse(
            "A=ENC[x]\n#c\nsops_age__list_0__map_recipient=age1x\nsops_age__list_0__map_enc=L1\\nL2\nsops_mac=m\n",
        )
        .unwrap();
        assert!(matches!(&data, Node::Map(e) if e.len() == 1));
        let meta = meta.unwrap();
        let Some(Node::Seq(age)) = meta.get("age") else {
            panic!()
        };
        assert!(matches!(age[0].get("enc"), Some(Node::Str(s)) if s == "L1\nL2"));
        assert!(matches!(meta.get("mac"), Some(Node::Str(s)) if s == "m"));
    }
}
