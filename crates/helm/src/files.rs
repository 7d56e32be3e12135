//! `.Files`: the chart's non-template files, with Helm's `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig` and
//! `AsSecrets` (`pkg/engine/files.go`).

use std::collections::BTreeMap;
use std::rc::Rc;

use tack_gotemplate::{FuncError, Map, Object, Value};

use crate::glob::glob_match;

/// The files of one chart, by path relative to the chart root.
#[derive(Debug, Clone, Default)]
pub struct Files(pub Rc<BTreeMap<String, Rc<[u8]>>>);

impl Files {
    /// `.Files`: the files as a template value with Helm's methods (`Get`, `Glob`, `AsConfig`, ...).
    pub(crate) fn to_value(&self) -> Value {
        Value::Object(Rc::new(self.clone()))
    }

    fn base_map(&self, f: impl Fn(&[u8]) -> String) -> Value {
        let mut m = Map::new();
        for (k, v) in self.0.iter() {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), Value::string(f(v)));
        }
        Value::map(m)
    }
}

fn one_string<'a>(method: &str, args: &'a [Value]) -> Result<&'a str, FuncError> {
    match args {
        [Value::String(s)] => Ok(s),
        [other] => Err(FuncError::new(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
        _ => Err(FuncError::new(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        ))),
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind(&self) -> &str {
        "map"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" | "AsSecrets" => self.call(name, &[]).and_then(Result::ok),
            _ => None,
        }
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        let r = match name {
            "Get" => one_string(name, args).map(|p| {
                Value::string(
                    self.0
                        .get(p)
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .unwrap_or_default(),
                )
            }),
            "GetBytes" => one_string(name, args)
                .map(|p| Value::Bytes(self.0.get(p).cloned().unwrap_or_else(|| Rc::from(Vec::new())))),
            "Glob" => one_string(name, args).map(|pattern| {
                let picked: BTreeMap<String, Rc<[u8]>> = self
                    .0
                    .iter()
                    .filter(|(k, _)| glob_match(pattern, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Files(Rc::new(picked)).to_value()
            }),
            "Lines" => one_string(name, args).map(|p| match self.0.get(p) {
                None => Value::list(Vec::new()),
                Some(d) => {
                    let s = String::from_utf8_lossy(d);
                    let s = s.strip_suffix('\n').unwrap_or(&s);
                    Value::list(s.split('\n').map(Value::string).collect())
                }
            }),
            "AsConfig" => {
                if self.0.is_empty() {
                    Ok(Value::string(""))
                } else {
                    Ok(Value::string(crate::yaml::to_yaml_lenient(
                        &self.base_map(|d| String::from_utf8_lossy(d).into_owned()),
                    )))
                }
            }
            "AsSecrets" => {
                if self.0.is_empty() {
                    Ok(Value::string(""))
                } else {
                    Ok(Value::string(crate::yaml::to_yaml_lenient(
                        &self.base_map(crate::json::base64_std),
                    )))
                }
            }
            _ => return None,
        };
        Some(r)
    }
    fn display(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}:[{}]",
                    v.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
                )
            })
            .collect();
        format!("map[{}]", items.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> Option<Value> {
        let m = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), Value::Bytes(v.clone())))
            .collect();
        Some(Value::map(m))
    }
}
