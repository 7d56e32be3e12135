//! go-jsonnet's JSON output written straight from jrsonnet's values, as [`crate::manifest::to_json`] writes it
//! from JSON values: three-space indentation, keys sorted, numbers as go-jsonnet prints them. Object assertions
//! run before an object's fields are read; functions cannot be manifested.

use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::{Result, Val, ensure_sufficient_stack};

use crate::manifest::{number, write_string};

/// Appends the JSON text of `val` at nesting `indent` (without a final newline).
pub(crate) fn write_json(out: &mut String, val: &Val, indent: &str) -> Result<()> {
    let mut spaces = indent.to_string();
    write_value(out, val, &mut spaces)
}

/// [`write_json`] with the current indentation in `indent`, three spaces more inside each array and object
/// (restored before returning).
fn write_value(out: &mut String, val: &Val, indent: &mut String) -> Result<()> {
    match val {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&number(n.get())),
        Val::Str(s) => write_string(out, &s.clone().into_flat()),
        Val::Arr(items) if items.is_empty() => out.push_str("[ ]"),
        Val::Arr(items) => ensure_sufficient_stack(|| {
            out.push_str("[\n");
            indent.push_str("   ");
            let last = items.len() - 1;
            for (i, item) in items.iter().enumerate() {
                out.push_str(indent);
                write_value(out, &item?, indent)?;
                out.push_str(if i < last as usize { ",\n" } else { "\n" });
            }
            indent.truncate(indent.len() - 3);
            out.push_str(indent);
            out.push(']');
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
        Val::Obj(obj) => ensure_sufficient_stack(|| {
            obj.run_assertions()?;
            let mut keys = obj.fields();
            if keys.is_empty() {
                out.push_str("{ }");
                return Ok(());
            }
            keys.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            out.push_str("{\n");
            indent.push_str("   ");
            let last = keys.len() - 1;
            for (i, key) in keys.into_iter().enumerate() {
                out.push_str(indent);
                write_string(out, &key);
                out.push_str(": ");
                let value = obj.get_or_bail(key)?;
                write_value(out, &value, indent)?;
                out.push_str(if i < last { ",\n" } else { "\n" });
            }
            indent.truncate(indent.len() - 3);
            out.push_str(indent);
            out.push('}');
            Ok::<_, jrsonnet_evaluator::Error>(())
        })?,
        Val::Func(_) => {
            return Err(ErrorKind::RuntimeError("couldn't manifest function as JSON".into()).into());
        }
    }
    Ok(())
}
