//! ConfigMap and Secret generators, and Kustomize's content-hash name suffix.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::kustomization::{GeneratorArgs, GeneratorOptions};

/// Where generator sources come from.
pub trait SourceReader {
    /// Reads a file named in a generator (relative to the kustomization), with load checks.
    fn read_source(&self, rel: &str) -> Result<Vec<u8>, Error>;
}

fn remove_quotes(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

fn env_pairs(content: &[u8], file: &str) -> Result<Vec<(String, String)>, Error> {
    let text = std::str::from_utf8(content).map_err(|_| Error::msg(format!("{file}: invalid utf8")))?;
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (line.to_string(), std::env::var(line).unwrap_or_default()),
        };
        out.push((k, v));
    }
    Ok(out)
}

fn basename(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

/// Merges global and per-generator options like Kustomize.
pub fn merge_options(
    global: Option<&GeneratorOptions>,
    local: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut o = GeneratorOptions::default();
    if let Some(g) = global {
        o = g.clone();
    }
    if let Some(l) = local {
        for (k, v) in &l.labels {
            o.labels.retain(|(x, _)| x != k);
            o.labels.push((k.clone(), v.clone()));
        }
        for (k, v) in &l.annotations {
            o.annotations.retain(|(x, _)| x != k);
            o.annotations.push((k.clone(), v.clone()));
        }
        if l.disable_name_suffix_hash.is_some() && !o.disable_name_suffix_hash.unwrap_or(false) {
            o.disable_name_suffix_hash = l.disable_name_suffix_hash;
        }
        if l.immutable.is_some() && !o.immutable.unwrap_or(false) {
            o.immutable = l.immutable;
        }
    }
    o
}

/// Builds the object for one generator entry. Returns it and whether it needs a hash suffix.
pub fn generate(
    args: &GeneratorArgs,
    secret: bool,
    opts: &GeneratorOptions,
    src: &dyn SourceReader,
) -> Result<(Map<String, Value>, bool), Error> {
    let kind = if secret { "Secret" } else { "ConfigMap" };
    if args.name.is_empty() {
        return Err(Error::msg(format!("a {kind} generator needs a name")));
    }
    let mut data: Vec<(String, String)> = Vec::new();
    let mut binary: Vec<(String, Vec<u8>)> = Vec::new();
    let add = |k: String, v: String, data: &mut Vec<(String, String)>| -> Result<(), Error> {
        if data.iter().any(|(x, _)| *x == k) {
            return Err(Error::msg(format!(
                "configmap {}: cannot add key {k}, another key by that name already exists in Data",
                args.name
            )));
        }
        data.push((k, v));
        Ok(())
    };
    for e in &args.envs {
        let content = src.read_source(e)?;
        for (k, v) in env_pairs(&content, e)? {
            add(k, v, &mut data)?;
        }
    }
    for lit in &args.literals {
        if lit.starts_with('=') {
            return Err(Error::msg(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        }
        let Some((k, v)) = lit.split_once('=') else {
            return Err(Error::msg(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        };
        add(k.to_string(), remove_quotes(v), &mut data)?;
    }
    for f in &args.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => {
                if k.is_empty() || p.is_empty() {
                    return Err(Error::msg(format!(
                        "key or file path is missing from file source {f}"
                    )));
                }
                (k.to_string(), p.to_string())
            }
            None => (basename(f), f.clone()),
        };
        let content = src.read_source(&path)?;
        match String::from_utf8(content) {
            Ok(s) if !secret => add(key, s, &mut data)?,
            Ok(s) => add(key, s, &mut data)?,
            Err(e) => {
                if data.iter().any(|(x, _)| *x == key) || binary.iter().any(|(x, _)| *x == key) {
                    return Err(Error::msg(format!(
                        "cannot add key {key}, another key by that name already exists"
                    )));
                }
                binary.push((key, e.into_bytes()));
            }
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.into()));
    let mut md = Map::new();
    md.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        md.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if !opts.labels.is_empty() {
        md.insert("labels".into(), pairs_obj(&opts.labels));
    }
    if !opts.annotations.is_empty() {
        md.insert("annotations".into(), pairs_obj(&opts.annotations));
    }
    obj.insert("metadata".into(), Value::Object(md));
    let b64 = |b: &[u8]| encode_base64(b);
    if secret {
        let mut d = Map::new();
        for (k, v) in &data {
            d.insert(k.clone(), Value::String(b64(v.as_bytes())));
        }
        for (k, v) in &binary {
            d.insert(k.clone(), Value::String(b64(v)));
        }
        if !d.is_empty() {
            obj.insert("data".into(), Value::Object(d));
        }
        let ty = if args.type_.is_empty() {
            "Opaque"
        } else {
            args.type_.as_str()
        };
        obj.insert("type".into(), Value::String(ty.into()));
    } else {
        if !data.is_empty() {
            obj.insert("data".into(), pairs_obj(&data));
        }
        if !binary.is_empty() {
            let mut d = Map::new();
            for (k, v) in &binary {
                d.insert(k.clone(), Value::String(b64(v)));
            }
            obj.insert("binaryData".into(), Value::Object(d));
        }
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    Ok((obj, !opts.disable_name_suffix_hash.unwrap_or(false)))
}

/// Base64 broken into 70-character lines (each followed by a newline) once it is long enough,
/// as Kustomize writes Secret data and ConfigMap binary data.
fn encode_base64(b: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(b);
    let lines = enc.len() / LINE + 1;
    if lines <= 1 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + lines);
    let mut i = 0;
    while i < enc.len() {
        let j = (i + LINE).min(enc.len());
        out.push_str(&enc[i..j]);
        out.push('\n');
        i = j;
    }
    out
}

fn pairs_obj(p: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in p {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(m)
}

/// Go `encoding/json` marshalling (sorted keys, HTML-safe escaping).
pub fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_str(k, out);
                out.push(':');
                go_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

fn go_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Kustomize's name-suffix hash of a ConfigMap or Secret.
pub fn hash(obj: &Map<String, Value>) -> String {
    let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let field = |k: &str| match obj.get(k) {
        None => Value::String(String::new()),
        Some(v) => v.clone(),
    };
    let mut m = Map::new();
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), Value::String("ConfigMap".into()));
            m.insert("name".into(), Value::String(String::new()));
            m.insert("data".into(), field("data"));
            if let Some(Value::Object(b)) = obj.get("binaryData") {
                m.insert("binaryData".into(), Value::Object(b.clone()));
            }
        }
        "Secret" => {
            m.insert("kind".into(), Value::String("Secret".into()));
            m.insert("type".into(), field("type"));
            m.insert("name".into(), Value::String(String::new()));
            m.insert("data".into(), field("data"));
            if let Some(Value::Object(b)) = obj.get("stringData") {
                m.insert("stringData".into(), Value::Object(b.clone()));
            }
        }
        _ => {
            let mut s = String::new();
            go_json(&Value::Object(obj.clone()), &mut s);
            return encode(&s);
        }
    }
    let mut s = String::new();
    go_json(&Value::Object(m), &mut s);
    encode(&s)
}

fn encode(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn hashes_match_kustomize() {
        assert_eq!(
            hash(&obj(
                json!({"kind": "ConfigMap", "data": {"foo": "bar", "baz": "qux"}})
            )),
            "6b85g79g7g"
        );
        assert_eq!(
            hash(&obj(json!({"kind": "ConfigMap", "data": {"html": "<b>&amp;"}}))),
            "tk95fd4bt8"
        );
        assert_eq!(
            hash(&obj(
                json!({"kind": "Secret", "type": "Opaque", "data": {"password": "YTxiJmM="}})
            )),
            "mtcg98f8g2"
        );
    }
}
