//! Defaults and flow: `default`, `empty`, `coalesce`, `all`, `any`, `ternary`, `fail`, and the JSON
//! functions (`toJson` family, `fromJson`).

use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, arity_min, bool_arg, is_empty, str_arg};
use crate::json::{self, EncodeOptions};

pub fn register(funcs: &mut Funcs) {
    funcs.insert("default", |_, a| {
        arity_min("default", a, 1)?;
        let given = &a[1..];
        Ok(if given.is_empty() || is_empty(&given[0]) {
            a[0].clone()
        } else {
            given[0].clone()
        })
    });
    funcs.insert("empty", |_, a| {
        arity("empty", a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    funcs.insert("coalesce", |_, a| {
        Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or(Value::Nil))
    });
    funcs.insert("all", |_, a| Ok(Value::Bool(a.iter().all(|v| !is_empty(v)))));
    funcs.insert("any", |_, a| Ok(Value::Bool(a.iter().any(|v| !is_empty(v)))));
    funcs.insert("ternary", |_, a| {
        arity("ternary", a, 3)?;
        Ok(if bool_arg(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    funcs.insert("getHostByName", |_, a| {
        arity("getHostByName", a, 1)?;
        let _ = str_arg(&a[0])?;
        Err(FuncError::new("getHostByName: DNS lookups are not allowed while rendering (tack renders without network access)"))
    });
    funcs.insert("fail", |_, a| {
        arity("fail", a, 1)?;
        Err(FuncError::new(str_arg(&a[0])?.to_string()))
    });
    let compact = EncodeOptions {
        escape_html: true,
        indent: None,
    };
    let pretty = EncodeOptions {
        escape_html: true,
        indent: Some("  "),
    };
    let raw = EncodeOptions {
        escape_html: false,
        indent: None,
    };
    for (name, must, opts) in [
        ("toJson", false, compact),
        ("mustToJson", true, compact),
        ("toPrettyJson", false, pretty),
        ("mustToPrettyJson", true, pretty),
        ("toRawJson", false, raw),
        ("mustToRawJson", true, raw),
    ] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 1)?;
            match json::encode(&a[0], opts) {
                Ok(s) => Ok(Value::string(s)),
                Err(e) if must => Err(FuncError::new(e)),
                Err(_) => Ok(Value::string("")),
            }
        });
    }
    funcs.insert("fromJson", |_, a| {
        arity("fromJson", a, 1)?;
        Ok(json::decode(&str_arg(&a[0])?).unwrap_or(Value::Nil))
    });
    funcs.insert("mustFromJson", |_, a| {
        arity("mustFromJson", a, 1)?;
        json::decode(&str_arg(&a[0])?).map_err(FuncError::new)
    });
}
