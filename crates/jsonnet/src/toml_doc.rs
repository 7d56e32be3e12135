//! `std.manifestTomlEx(value, indent)` as go-jsonnet writes it: plain keys first, then one section per nested
//! object (`[a.b]`) or array of objects (`[[a]]`), each section's body indented by `indent` more than its
//! header, and every section preceded by a blank line (two when its parent has no plain keys).

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::function::builtin;
use jrsonnet_evaluator::{ObjValue, Result, Val, ensure_sufficient_stack};

use crate::manifest::{number, write_string};

/// `std.manifestTomlEx(value, indent)`.
#[builtin]
pub(crate) fn builtin_manifest_toml_ex(value: Val, indent: String) -> Result<String> {
    match &value {
        Val::Obj(obj) => table_body(obj, &indent, &[], &mut Vec::new(), ""),
        other => fail(format!("TOML body must be an object. Got {}", other.value_type())),
    }
}

fn fail<T>(message: String) -> Result<T> {
    Err(ErrorKind::RuntimeError(message.into()).into())
}

/// The sorted visible fields of `obj` with their values.
fn fields(obj: &ObjValue) -> Result<Vec<(String, Val)>> {
    let mut keys = obj.fields();
    keys.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    keys.into_iter()
        .map(|k| Ok((k.to_string(), obj.get_or_bail(k)?)))
        .collect()
}

/// An object, or a non-empty array of objects only: written as a section, not as a value.
fn is_section(val: &Val) -> Result<bool> {
    Ok(match val {
        Val::Obj(_) => true,
        Val::Arr(items) if !items.is_empty() => {
            for item in items.iter() {
                if !matches!(item?, Val::Obj(_)) {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// A key bare when it is only ASCII letters, digits, `-` and `_`; `''` when empty; quoted otherwise.
fn key(out: &mut String, k: &str) {
    if k.is_empty() {
        out.push_str("''");
    } else if k
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        out.push_str(k);
    } else {
        write_string(out, k);
    }
}

fn header(path: &[String], open: &str, close: &str, cindent: &str) -> String {
    let mut out = format!("{cindent}{open}");
    for (i, element) in path.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        key(&mut out, element);
    }
    out.push_str(close);
    out
}

/// The body of a table: its plain keys (one a line), then its sections.
fn table_body(
    obj: &ObjValue,
    sindent: &str,
    path: &[String],
    at: &mut Vec<String>,
    cindent: &str,
) -> Result<String> {
    let _level = crate::manifest_depth::enter()?;
    ensure_sufficient_stack(|| {
        obj.run_assertions()?;
        let mut lines: Vec<String> = Vec::new();
        let mut sections = vec![String::new()];
        for (name, value) in fields(obj)? {
            at.push(name.clone());
            if is_section(&value)? {
                let mut child = path.to_vec();
                child.push(name.clone());
                let inner = format!("{cindent}{sindent}");
                let section = match &value {
                    Val::Obj(o) => {
                        let mut s = header(&child, "[", "]", cindent);
                        if !o.fields().is_empty() {
                            s.push('\n');
                        }
                        s + &table_body(o, sindent, &child, at, &inner)?
                    }
                    Val::Arr(items) => {
                        let mut parts = Vec::new();
                        for (j, item) in items.iter().enumerate() {
                            let Val::Obj(o) = item? else {
                                unreachable_section()?
                            };
                            at.push(j.to_string());
                            let mut s = header(&child, "[[", "]]", cindent);
                            if !o.fields().is_empty() {
                                s.push('\n');
                            }
                            parts.push(s + &table_body(&o, sindent, &child, at, &inner)?);
                            at.pop();
                        }
                        parts.join("\n\n")
                    }
                    _ => unreachable_section()?,
                };
                sections.push(section);
            } else {
                let mut line = String::new();
                key(&mut line, &name);
                line.push_str(" = ");
                render_value(&mut line, &value, sindent, at, false, "")?;
                lines.extend(line.split('\n').map(str::to_string));
            }
            at.pop();
        }
        let mut out = String::new();
        if !lines.is_empty() {
            out.push_str(cindent);
        }
        out.push_str(&lines.join(&format!("\n{cindent}")));
        out.push_str(&sections.join("\n\n"));
        Ok(out)
    })
}

fn unreachable_section<T>() -> Result<T> {
    fail("invalid type for section".into())
}

/// `[a b]`: go-jsonnet's way of naming where a value is.
fn path_text(at: &[String]) -> String {
    format!("[{}]", at.join(" "))
}

/// A value: scalars as JSON, arrays across lines (inline inside other values), objects inline.
fn render_value(
    out: &mut String,
    val: &Val,
    sindent: &str,
    at: &mut Vec<String>,
    inline: bool,
    cindent: &str,
) -> Result<()> {
    let _level = crate::manifest_depth::enter()?;
    match val {
        Val::Null => return fail(format!("Tried to manifest \"null\" at {}", path_text(at))),
        Val::Func(_) => return fail(format!("Tried to manifest function at {}", path_text(at))),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&number(n.get())),
        Val::Str(s) => write_string(out, &s.clone().into_flat()),
        Val::Arr(items) if items.is_empty() => out.push_str("[]"),
        Val::Arr(items) => ensure_sufficient_stack(|| {
            let (indent, separator) = if inline {
                (String::new(), " ")
            } else {
                (format!("{cindent}{sindent}"), "\n")
            };
            out.push('[');
            out.push_str(separator);
            for (j, item) in items.iter().enumerate() {
                let item = item?;
                if j > 0 {
                    out.push(',');
                    out.push_str(separator);
                }
                out.push_str(&indent);
                at.push(j.to_string());
                render_value(out, &item, sindent, at, true, "")?;
                at.pop();
            }
            out.push_str(separator);
            if inline {
                out.push_str(cindent);
            }
            out.push(']');
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
        Val::Obj(obj) => ensure_sufficient_stack(|| {
            obj.run_assertions()?;
            out.push_str("{ ");
            for (j, (name, value)) in fields(obj)?.into_iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                key(out, &name);
                out.push_str(" = ");
                at.push(name);
                render_value(out, &value, sindent, at, true, "")?;
                at.pop();
            }
            out.push_str(" }");
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
    }
    Ok(())
}

/// `std.manifestToml(value)`: `std.manifestTomlEx(value, '  ')`.
#[builtin]
pub(crate) fn builtin_manifest_toml(value: Val) -> Result<String> {
    builtin_manifest_toml_ex(value, "  ".into())
}
