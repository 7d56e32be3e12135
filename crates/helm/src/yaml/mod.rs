//! Helm's YAML: values files and `fromYaml` read as `sigs.k8s.io/yaml` reads them (go-yaml v2, then JSON, so
//! every number is a `float64`), and `toYaml` written as `sigs.k8s.io/yaml.Marshal` writes it (JSON, then
//! go-yaml v2's emitter: sorted keys, sequences flush with their key, v2's quoting and folding at 80 columns).
//! `toYamlPretty` is go-yaml v3's encoder with an indent of 2, applied to the values as they are.

mod decode;
mod pretty;

use tack_gotemplate::{Map, Value};

use crate::json;

/// A YAML reading or writing error, worded as Helm reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

/// `sigs.k8s.io/yaml.Unmarshal(src, &v)` with `v interface{}`: the first document only; `Nil` when empty.
pub fn unmarshal(src: &str) -> Result<Value, YamlError> {
    decode::first_document(src).map_err(|e| match e {
        decode::DecodeError::Yaml(m) | decode::DecodeError::Json(m) => {
            YamlError(format!("error converting YAML to JSON: {m}"))
        }
    })
}

/// `sigs.k8s.io/yaml.Unmarshal` into a `map[string]interface{}` (an empty document leaves the map empty).
pub fn unmarshal_map(src: &str) -> Result<Map, YamlError> {
    match unmarshal(src)? {
        Value::Map(m) => Ok(m.borrow().clone()),
        Value::Nil => Ok(Map::new()),
        other => Err(YamlError(format!(
            "error unmarshaling JSON: while decoding JSON: {}",
            json::cannot_unmarshal(&other, "map[string]interface {}")
        ))),
    }
}

/// Helm's `fromYaml`: the map, or `{"Error": message}` (the map holds what was decoded before the error).
pub fn from_yaml(src: &str) -> Value {
    match unmarshal_map(src) {
        Ok(m) => Value::map(m),
        Err(e) => {
            let mut m = Map::new();
            m.insert("Error".to_string(), Value::string(e.0));
            Value::map(m)
        }
    }
}

/// Helm's `fromYamlArray`: the list, or a list holding the error message.
pub fn from_yaml_array(src: &str) -> Value {
    match unmarshal(src) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => Value::list(Vec::new()),
        Ok(other) => Value::list(vec![Value::string(format!(
            "error unmarshaling JSON: while decoding JSON: {}",
            json::cannot_unmarshal(&other, "[]interface {}")
        ))]),
        Err(e) => Value::list(vec![Value::string(e.0)]),
    }
}

/// Helm's `loader.LoadValues`: a values file, possibly of several `---`-separated documents, each read as a map
/// and merged over the previous ones (maps merge, everything else replaces).
pub fn load_values(src: &str) -> Result<Map, YamlError> {
    let mut values = Map::new();
    for doc in split_documents(src)? {
        let current =
            unmarshal_map(&doc).map_err(|e| YamlError(format!("cannot unmarshal yaml document: {e}")))?;
        values = crate::coalesce::merge_maps(values, current);
    }
    Ok(values)
}

/// The documents of a stream as `k8s.io/apimachinery`'s `YAMLReader` splits them: a line starting with `---`
/// ends a document; anything but a comment after the `---` is an error.
fn split_documents(src: &str) -> Result<Vec<String>, YamlError> {
    let mut docs = Vec::new();
    let mut buf = String::new();
    let mut rest = src;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(after) = line.strip_prefix("---") {
            let trimmed = after.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError(format!(
                    "error reading yaml document: invalid Yaml document separator: {trimmed}"
                )));
            }
            if !buf.is_empty() {
                docs.push(std::mem::take(&mut buf));
            }
            continue;
        }
        buf.push_str(line);
        buf.push('\n');
    }
    if !buf.is_empty() {
        docs.push(buf);
    }
    Ok(docs)
}

/// `sigs.k8s.io/yaml.Marshal(v)` with the trailing newline removed (Helm's `mustToYaml`).
pub fn to_yaml(v: &Value) -> Result<String, YamlError> {
    let j = to_serde_json(v, 0).map_err(|e| YamlError(format!("error marshaling into JSON: {e}")))?;
    let out = tack_yaml::to_yaml(&j);
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

/// Helm's `toYaml`: like [`to_yaml`], but an error gives the empty string.
pub fn to_yaml_lenient(v: &Value) -> String {
    to_yaml(v).unwrap_or_default()
}

/// Helm's `toYamlPretty`: go-yaml v3's encoder with an indent of 2 on the values as they are (numbers keep
/// their Go type: a float64 1000000 prints as `1e+06`); an error gives the empty string.
pub fn to_yaml_pretty(v: &Value) -> String {
    match pretty::encode(v) {
        Some(out) => out.strip_suffix('\n').unwrap_or(&out).to_string(),
        None => String::new(),
    }
}

/// The value as `json.Marshal` sees it, as a `serde_json` value whose numbers print as go-yaml v2 prints the
/// marshalled text.
fn to_serde_json(v: &Value, depth: usize) -> Result<serde_json::Value, json::JsonError> {
    if depth > 10_000 {
        return Err(json::JsonError(
            "json: unsupported value: encountered a cycle".to_string(),
        ));
    }
    Ok(match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => serde_json::Value::Number((*i).into()),
        Value::Float(f) => {
            json::go_json_float(*f)?;
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(b) => serde_json::Value::String(json::base64_std(b)),
        Value::List(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| to_serde_json(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut out = serde_json::Map::new();
            for (k, item) in m.borrow().iter() {
                out.insert(k.clone(), to_serde_json(item, depth + 1)?);
            }
            serde_json::Value::Object(out)
        }
        Value::Object(o) => match o.to_data() {
            Some(data) => to_serde_json(&data, depth + 1)?,
            None => {
                return Err(json::JsonError(format!(
                    "json: unsupported type: {}",
                    o.type_name()
                )));
            }
        },
    })
}
