//! Glue between the chart engine and the values modules: JSON values from `tack_yaml` documents, the TOML
//! template functions and values.schema.json validation.

use serde_json::Value as Json;
use tack_gotemplate::{Call, FuncError, Funcs, Map, Value};

use crate::chart::Chart;
use crate::error::{Error, Result};

/// A `serde_json` value as Helm's values hold it (every number a `float64`).
pub fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::string(s.as_str()),
        Json::Array(items) => Value::list(items.iter().map(json_to_value).collect()),
        Json::Object(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect()),
    }
}

/// `toToml` (the error text on failure, as Helm), `mustToToml` (an error) and `fromToml` (`{Error: ...}` on
/// failure), through [`crate::toml`].
pub fn install_toml(funcs: &mut Funcs) {
    fn one<'a>(name: &str, args: &'a [Value]) -> std::result::Result<&'a Value, FuncError> {
        match args {
            [v] => Ok(v),
            _ => Err(FuncError::new(format!(
                "wrong number of args for {name}: want 1 got {}",
                args.len()
            ))),
        }
    }
    funcs.insert("toToml", |_c: &mut Call<'_>, args: &[Value]| {
        Ok(Value::string(crate::toml::to_toml_lenient(one("toToml", args)?)))
    });
    funcs.insert("mustToToml", |_c: &mut Call<'_>, args: &[Value]| {
        crate::toml::to_toml(one("mustToToml", args)?)
            .map(Value::string)
            .map_err(|e| FuncError::new(e.0))
    });
    funcs.insert("fromToml", |_c: &mut Call<'_>, args: &[Value]| {
        match one("fromToml", args)? {
            Value::String(s) => Ok(crate::toml::from_toml(s)),
            other => Err(FuncError::new(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            ))),
        }
    });
}

/// Helm's `ValidateAgainstSchema`: the values.schema.json of the chart and of each subchart (against the
/// subchart's part of the values), every failure listed under its chart's name.
pub fn validate_schema(chart: &Chart, values: &Map) -> Result<()> {
    let mut out = String::new();
    collect_schema_errors(chart, values, &mut out);
    if out.is_empty() {
        return Ok(());
    }
    Err(Error::Schema(format!(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
    )))
}

fn collect_schema_errors(chart: &Chart, values: &Map, out: &mut String) {
    if let Some(schema) = &chart.schema {
        let text = String::from_utf8_lossy(schema);
        if let Err(e) = crate::schema::validate(&text, &Value::map(values.clone())) {
            out.push_str(&format!("{}:\n{}", chart.name(), e.0));
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Nil) => {}
            Some(Value::Map(m)) => collect_schema_errors(sub, &m.borrow(), out),
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
}
