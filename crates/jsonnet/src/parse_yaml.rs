//! `std.parseYaml(text)` as go-jsonnet reads YAML: the text is cut into documents at lines starting with `---`
//! (the marker line opening the next document), each document is read with YAML 1.1 scalars (go-yaml v2 through
//! `sigs.k8s.io/yaml`: `yes`, `on`, `y` are booleans, `0777` is octal, timestamps stay strings), numbers become
//! Jsonnet numbers. Text with a `---` line is a stream (an array of its documents, also when there is one);
//! without one, the single document's value; no document at all is `null`.

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::builtin;
use jrsonnet_evaluator::{ObjValueBuilder, Result, Val};
use tack_yaml::{Schema, Value};

/// `std.parseYaml(str)`.
#[builtin]
pub(crate) fn builtin_parse_yaml(str: String) -> Result<Val> {
    let (chunks, stream) = documents(&str);
    let mut values = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        let docs = tack_yaml::parse_documents_with(chunk, "", Schema::Yaml11).map_err(|e| {
            jrsonnet_evaluator::Error::from(ErrorKind::RuntimeError(
                format!("failed to parse YAML: {e}").into(),
            ))
        })?;
        values.push(docs.into_iter().next().map_or(Value::Null, |d| d.value));
    }
    if values.is_empty() {
        return Ok(Val::Null);
    }
    if stream {
        return Ok(Val::arr(values.iter().map(to_val).collect::<Result<Vec<Val>>>()?));
    }
    to_val(&values[0])
}

/// The documents of `text` as go-jsonnet cuts them (every line ends in `\n`, `\r\n` read as `\n`), and whether
/// a document marker was seen.
fn documents(text: &str) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut buffer = String::new();
    let mut stream = false;
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("---")
            && (rest.is_empty() || rest.starts_with([' ', '\t']))
        {
            stream = true;
            if !buffer.is_empty() {
                out.push(std::mem::take(&mut buffer));
            }
        }
        buffer.push_str(line);
        buffer.push('\n');
    }
    if !buffer.is_empty() {
        out.push(buffer);
    }
    (out, stream)
}

/// A JSON value as a Jsonnet value (every number a double, as go-jsonnet's JSON reading makes it).
fn to_val(value: &Value) -> Result<Val> {
    Ok(match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::try_num(n.as_f64().unwrap_or(f64::NAN))?,
        Value::String(s) => Val::string(s.as_str()),
        Value::Array(items) => Val::arr(jrsonnet_evaluator::ensure_sufficient_stack(|| {
            items.iter().map(to_val).collect::<Result<Vec<Val>>>()
        })?),
        Value::Object(map) => {
            let mut obj = ObjValueBuilder::new();
            for (key, item) in map {
                let item = jrsonnet_evaluator::ensure_sufficient_stack(|| to_val(item))?;
                obj.field(key.as_str()).value(item);
            }
            Val::Obj(obj.build())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::documents;

    #[test]
    fn documents_are_cut_at_marker_lines() {
        assert_eq!(documents(""), (vec![], false));
        assert_eq!(documents("a: 1"), (vec!["a: 1\n".to_string()], false));
        assert_eq!(
            documents("a: 1\n---\nb: 2\r\n--- x\n"),
            (
                vec!["a: 1\n".into(), "---\nb: 2\n".into(), "--- x\n".into()],
                true
            )
        );
        assert_eq!(documents("---\n"), (vec!["---\n".into()], true));
        assert_eq!(documents("----\n--\n"), (vec!["----\n--\n".into()], false));
    }
}
