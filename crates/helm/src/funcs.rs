//! Helm's own template functions (`pkg/engine/funcs.go` and `engine.go`), installed over Sprig's:
//! `include` (recursion limit 1000), `tpl`, `required`, `fail`, the YAML/JSON/TOML converters, `lookup`
//! (an empty map, as under `helm template`), `getHostByName` (empty without DNS) and the duration helpers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tack_gotemplate::{Call, FuncError, Funcs, Map, Value};

use crate::duration::{as_duration, duration_value, round, truncate};

/// The markers Helm wraps `required`/`fail` messages in, so the author's message can be shown alone.
pub const ERR_START: &str = "HELM_ERR_START";
pub const ERR_END: &str = "HELM_ERR_END";

/// How many nested `include`s of one name are allowed.
pub const INCLUDE_LIMIT: usize = 1000;

/// The name `tpl` gives the text it parses (Helm's root template set is `gotpl`).
pub const TPL_NAME: &str = "gotpl";

fn arity(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() != want {
        return Err(FuncError::new(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn string_arg(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(FuncError::new(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

/// Installs Sprig (without `env`/`expandenv`) and Helm's functions into a new table.
pub fn helm_funcs() -> Funcs {
    let mut funcs = Funcs::new();
    tack_sprig::install(&mut funcs);
    install_helm(&mut funcs);
    funcs
}

fn install_helm(funcs: &mut Funcs) {
    let included: Rc<RefCell<HashMap<String, usize>>> = Rc::default();
    let inc = included.clone();
    funcs.insert("include", move |call: &mut Call<'_>, args: &[Value]| {
        arity("include", args, 2)?;
        let name = string_arg(&args[0])?.to_string();
        let depth = {
            let mut m = inc.borrow_mut();
            let n = m.entry(name.clone()).or_insert(0);
            if *n > INCLUDE_LIMIT {
                return Err(FuncError::new(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                )));
            }
            *n += 1;
            *n
        };
        let r = call.execute(&name, &args[1]);
        if let Some(n) = inc.borrow_mut().get_mut(&name) {
            *n = depth - 1;
        }
        r.map(Value::string)
    });
    funcs.insert("tpl", |call: &mut Call<'_>, args: &[Value]| {
        arity("tpl", args, 2)?;
        let text = string_arg(&args[0])?;
        let out = call.parse_and_execute(TPL_NAME, text, &args[1]).map_err(|e| {
            let m = e.0;
            if m.starts_with("cannot parse template") || m.starts_with("error during tpl function execution")
            {
                FuncError(m)
            } else if is_parse_error(&m) {
                FuncError(format!("cannot parse template {text:?}: {m}"))
            } else {
                FuncError(format!("error during tpl function execution for {text:?}: {m}"))
            }
        })?;
        Ok(Value::string(out.replace("<no value>", "")))
    });
    funcs.insert("required", |_call: &mut Call<'_>, args: &[Value]| {
        arity("required", args, 2)?;
        let warn = string_arg(&args[0])?;
        match &args[1] {
            Value::Nil => Err(FuncError::new(format!("{ERR_START}{warn}{ERR_END}"))),
            Value::String(s) if s.is_empty() => Err(FuncError::new(format!("{ERR_START}{warn}{ERR_END}"))),
            v => Ok(v.clone()),
        }
    });
    funcs.insert("fail", |_call: &mut Call<'_>, args: &[Value]| {
        arity("fail", args, 1)?;
        let msg = string_arg(&args[0])?;
        Err(FuncError::new(format!("{ERR_START}{msg}{ERR_END}")))
    });
    funcs.insert("lookup", |_call: &mut Call<'_>, args: &[Value]| {
        arity("lookup", args, 4)?;
        for a in args {
            string_arg(a)?;
        }
        Ok(Value::map(Map::new()))
    });
    funcs.insert("getHostByName", |_call: &mut Call<'_>, args: &[Value]| {
        arity("getHostByName", args, 1)?;
        string_arg(&args[0])?;
        Ok(Value::string(""))
    });
    install_converters(funcs);
    install_durations(funcs);
}

/// Whether a Go template error message is a parse error (`template: NAME:LINE: ...`, no column).
fn is_parse_error(m: &str) -> bool {
    let Some(rest) = m.strip_prefix("template: ") else {
        return false;
    };
    let Some((loc, _)) = rest.split_once(": ") else {
        return false;
    };
    loc.rsplit(':')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        && loc.matches(':').count() == 1
}

fn one(
    name: &'static str,
    f: fn(&Value) -> Result<Value, FuncError>,
) -> impl Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError> {
    move |_c: &mut Call<'_>, args: &[Value]| {
        arity(name, args, 1)?;
        f(&args[0])
    }
}

fn install_converters(funcs: &mut Funcs) {
    funcs.insert(
        "toYaml",
        one("toYaml", |v| Ok(Value::string(crate::yaml::to_yaml_lenient(v)))),
    );
    funcs.insert(
        "mustToYaml",
        one("mustToYaml", |v| {
            crate::yaml::to_yaml(v)
                .map(Value::string)
                .map_err(|e| FuncError(e.0))
        }),
    );
    funcs.insert(
        "toYamlPretty",
        one("toYamlPretty", |v| {
            Ok(Value::string(crate::yaml::to_yaml_pretty(v)))
        }),
    );
    funcs.insert(
        "fromYaml",
        one("fromYaml", |v| Ok(crate::yaml::from_yaml(string_arg(v)?))),
    );
    funcs.insert(
        "fromYamlArray",
        one("fromYamlArray", |v| {
            Ok(crate::yaml::from_yaml_array(string_arg(v)?))
        }),
    );
    funcs.insert(
        "toJson",
        one("toJson", |v| {
            Ok(Value::string(crate::json::to_json(v).unwrap_or_default()))
        }),
    );
    funcs.insert(
        "mustToJson",
        one("mustToJson", |v| {
            crate::json::to_json(v)
                .map(Value::string)
                .map_err(|e| FuncError(e.0))
        }),
    );
    funcs.insert(
        "fromJson",
        one("fromJson", |v| Ok(crate::json::from_json(string_arg(v)?))),
    );
    funcs.insert(
        "fromJsonArray",
        one("fromJsonArray", |v| {
            Ok(crate::json::from_json_array(string_arg(v)?))
        }),
    );
    crate::interop::install_toml(funcs);
}

fn install_durations(funcs: &mut Funcs) {
    funcs.insert(
        "mustToDuration",
        one("mustToDuration", |v| {
            as_duration(v).map(duration_value).map_err(FuncError)
        }),
    );
    type Conv = fn(i64) -> Value;
    let table: [(&'static str, Conv); 8] = [
        ("durationSeconds", |d| Value::Float(d as f64 / 1e9)),
        ("durationMilliseconds", |d| Value::Int64(d / 1_000_000)),
        ("durationMicroseconds", |d| Value::Int64(d / 1_000)),
        ("durationNanoseconds", Value::Int64),
        ("durationMinutes", |d| {
            Value::Float((d / 60_000_000_000) as f64 + (d % 60_000_000_000) as f64 / 60e9)
        }),
        ("durationHours", |d| {
            Value::Float((d / 3_600_000_000_000) as f64 + (d % 3_600_000_000_000) as f64 / 3600e9)
        }),
        ("durationDays", |d| Value::Float(hours(d) / 24.0)),
        ("durationWeeks", |d| Value::Float(hours(d) / 24.0 / 7.0)),
    ];
    for (name, conv) in table {
        funcs.insert(name, move |_c: &mut Call<'_>, args: &[Value]| {
            arity(name, args, 1)?;
            Ok(match as_duration(&args[0]) {
                Ok(d) => conv(d),
                Err(_) => {
                    if name.ends_with("conds") && name != "durationSeconds" {
                        Value::Int64(0)
                    } else {
                        Value::Float(0.0)
                    }
                }
            })
        });
    }
    funcs.insert("durationRoundTo", |_c: &mut Call<'_>, args: &[Value]| {
        arity("durationRoundTo", args, 2)?;
        Ok(duration_value(match as_duration(&args[0]) {
            Err(_) => 0,
            Ok(d) => as_duration(&args[1]).map(|m| round(d, m)).unwrap_or(d),
        }))
    });
    funcs.insert("durationTruncateTo", |_c: &mut Call<'_>, args: &[Value]| {
        arity("durationTruncateTo", args, 2)?;
        Ok(duration_value(match as_duration(&args[0]) {
            Err(_) => 0,
            Ok(d) => as_duration(&args[1]).map(|m| truncate(d, m)).unwrap_or(d),
        }))
    });
}

fn hours(d: i64) -> f64 {
    (d / 3_600_000_000_000) as f64 + (d % 3_600_000_000_000) as f64 / 3600e9
}
