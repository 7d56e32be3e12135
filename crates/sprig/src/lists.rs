//! List functions. Each works on any Go slice (reflection in Sprig) and returns a new list; the `must`
//! variants return Sprig's error where the plain ones panic with the same message (an error either way).

use std::rc::Rc;

use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{
    arity, arity_min, deep_equal, int_arg, is_empty, kind_for_error, slice_items, to_int64,
};

type ListFn = fn(&[Value]) -> Result<Value, FuncError>;

fn both(funcs: &mut Funcs, plain: &'static str, must: &'static str, f: ListFn) {
    funcs.insert(plain, move |_, a| f(a).map_err(|e| rename(e, plain)));
    funcs.insert(must, move |_, a| f(a).map_err(|e| rename(e, must)));
}

/// Arity messages name the function called.
fn rename(e: FuncError, name: &str) -> FuncError {
    if let Some(rest) = e.0.strip_prefix("wrong number of args for ?") {
        FuncError::new(format!("wrong number of args for {name}{rest}"))
    } else {
        e
    }
}

fn list_or(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match slice_items(v) {
        Some(items) => Ok(items),
        // "chunk " (with a space) words the message as Sprig's chunk does: "Cannot chunk type string".
        None => match what.strip_suffix(' ') {
            Some(verb) => Err(FuncError::new(format!(
                "Cannot {verb} type {}",
                kind_for_error(v)?
            ))),
            None => Err(FuncError::new(format!(
                "Cannot {what} on type {}",
                kind_for_error(v)?
            ))),
        },
    }
}

fn one(a: &[Value], n: usize) -> Result<(), FuncError> {
    arity("?", a, n)
}

pub fn register(funcs: &mut Funcs) {
    funcs.insert("list", |_, a| Ok(Value::list(a.to_vec())));
    funcs.insert("tuple", |_, a| Ok(Value::list(a.to_vec())));
    both(funcs, "append", "mustAppend", push);
    both(funcs, "push", "mustPush", push);
    both(funcs, "prepend", "mustPrepend", |a| {
        one(a, 2)?;
        let mut items = list_or(&a[0], "prepend")?;
        items.insert(0, a[1].clone());
        Ok(Value::list(items))
    });
    both(funcs, "first", "mustFirst", |a| {
        one(a, 1)?;
        Ok(list_or(&a[0], "find first")?
            .first()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    both(funcs, "last", "mustLast", |a| {
        one(a, 1)?;
        Ok(list_or(&a[0], "find last")?.last().cloned().unwrap_or(Value::Nil))
    });
    both(funcs, "rest", "mustRest", |a| {
        one(a, 1)?;
        let items = list_or(&a[0], "find rest")?;
        Ok(if items.is_empty() {
            Value::list(Vec::new())
        } else {
            Value::list(items[1..].to_vec())
        })
    });
    both(funcs, "initial", "mustInitial", |a| {
        one(a, 1)?;
        let items = list_or(&a[0], "find initial")?;
        Ok(if items.is_empty() {
            Value::list(Vec::new())
        } else {
            Value::list(items[..items.len() - 1].to_vec())
        })
    });
    both(funcs, "reverse", "mustReverse", |a| {
        one(a, 1)?;
        let mut items = list_or(&a[0], "find reverse")?;
        items.reverse();
        Ok(Value::list(items))
    });
    both(funcs, "compact", "mustCompact", |a| {
        one(a, 1)?;
        Ok(Value::list(
            list_or(&a[0], "compact")?
                .into_iter()
                .filter(|x| !is_empty(x))
                .collect(),
        ))
    });
    both(funcs, "uniq", "mustUniq", |a| {
        one(a, 1)?;
        let mut out: Vec<Value> = Vec::new();
        for item in list_or(&a[0], "find uniq")? {
            if !out.iter().any(|x| deep_equal(x, &item)) {
                out.push(item);
            }
        }
        Ok(Value::list(out))
    });
    both(funcs, "without", "mustWithout", |a| {
        arity_min("?", a, 1)?;
        let omit = &a[1..];
        Ok(Value::list(
            list_or(&a[0], "find without")?
                .into_iter()
                .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                .collect(),
        ))
    });
    both(funcs, "has", "mustHas", |a| {
        one(a, 2)?;
        if matches!(a[1], Value::Nil) {
            return Ok(Value::Bool(false));
        }
        Ok(Value::Bool(
            list_or(&a[1], "find has")?.iter().any(|x| deep_equal(&a[0], x)),
        ))
    });
    both(funcs, "slice", "mustSlice", slice);
    both(funcs, "chunk", "mustChunk", chunk);
    funcs.insert("concat", |_, a| {
        let mut out = Vec::new();
        for l in a {
            match slice_items(l) {
                Some(items) => out.extend(items),
                None => {
                    return Err(FuncError::new(format!(
                        "Cannot concat type {} as list",
                        kind_for_error(l)?
                    )));
                }
            }
        }
        Ok(Value::List(Rc::new(out)))
    });
}

fn push(a: &[Value]) -> Result<Value, FuncError> {
    one(a, 2)?;
    let mut items = list_or(&a[0], "push")?;
    items.push(a[1].clone());
    Ok(Value::list(items))
}

fn slice(a: &[Value]) -> Result<Value, FuncError> {
    arity_min("?", a, 1)?;
    let Some(items) = slice_items(&a[0]) else {
        return Err(FuncError::new(format!(
            "list should be type of slice or array but {}",
            kind_for_error(&a[0])?
        )));
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_int64).unwrap_or(0);
    let end = if a.len() < 3 {
        items.len() as i64
    } else {
        to_int64(&a[2])
    };
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(FuncError::new("reflect.Value.Slice: slice index out of bounds"));
    }
    Ok(Value::list(items[start as usize..end as usize].to_vec()))
}

fn chunk(a: &[Value]) -> Result<Value, FuncError> {
    one(a, 2)?;
    let size = int_arg(&a[0])?;
    let items = list_or(&a[1], "chunk ")?;
    if size <= 0 {
        return Err(FuncError::new("runtime error: integer divide by zero"));
    }
    let out: Vec<Value> = items
        .chunks(size as usize)
        .map(|c| Value::list(c.to_vec()))
        .collect();
    Ok(Value::list(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chunk_splits_evenly_and_keeps_the_tail() {
        let l = Value::list((1..=5).map(Value::Int).collect());
        let r = chunk(&[Value::Int(2), l]).unwrap();
        assert_eq!(crate::convert::fmt_v(&r), "[[1 2] [3 4] [5]]");
    }

    #[test]
    fn errors_name_the_kind() {
        let e = push(&[Value::Int(1), Value::Int(2)]).unwrap_err();
        assert_eq!(e.0, "Cannot push on type int");
    }
}
