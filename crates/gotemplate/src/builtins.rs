//! Go's builtin template functions (`and or not len index slice print printf println html js urlquery call
//! eq ne lt le gt ge`), with Go's comparison rules and error messages.

use crate::exec::Ty;
use crate::{ArgType, Value, ast::Arg};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

pub(crate) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "and" => Builtin::And,
        "or" => Builtin::Or,
        "not" => Builtin::Not,
        "len" => Builtin::Len,
        "index" => Builtin::Index,
        "slice" => Builtin::Slice,
        "print" => Builtin::Print,
        "printf" => Builtin::Printf,
        "println" => Builtin::Println,
        "html" => Builtin::Html,
        "js" => Builtin::Js,
        "urlquery" => Builtin::Urlquery,
        "call" => Builtin::Call,
        "eq" => Builtin::Eq,
        "ne" => Builtin::Ne,
        "lt" => Builtin::Lt,
        "le" => Builtin::Le,
        "gt" => Builtin::Gt,
        "ge" => Builtin::Ge,
        _ => return None,
    })
}

pub(crate) fn is_builtin(name: &str) -> bool {
    lookup(name).is_some()
}

/// Fixed parameters and the variadic one, as Go declares the builtin.
pub(crate) fn signature(b: Builtin) -> (&'static [Ty], Option<Ty>) {
    use Builtin::*;
    let any = Ty::Go(ArgType::Any);
    match b {
        And | Or | Index | Slice | Call | Eq => (&[Ty::Reflect], Some(Ty::Reflect)),
        Not | Len => (&[Ty::Reflect], None),
        Print | Println | Html | Js | Urlquery => (&[], Some(any)),
        Printf => (&[Ty::Go(ArgType::String)], Some(any)),
        Ne | Lt | Le | Gt | Ge => (&[Ty::Reflect, Ty::Reflect], None),
    }
}

/// `iface[i]`: argument `i` came from an `interface {}` slot (a map entry or list element).
pub(crate) fn call(b: Builtin, argv: &[Value], iface: &[bool], args: &[Arg]) -> Result<Value, String> {
    use Builtin::*;
    match b {
        And | Or => Ok(argv.last().cloned().unwrap_or_default()),
        Not => Ok(Value::Bool(!argv[0].truthy())),
        Len => {
            if iface.first() == Some(&true) && argv[0].is_nil() {
                return Err("len of nil pointer".into());
            }
            length(&argv[0]).map(Value::Int)
        }
        Index => index(&argv[0], &argv[1..]),
        Slice => slice(&argv[0], &argv[1..], iface.get(1..).unwrap_or(&[])),
        Print => Ok(Value::from(crate::fmt::sprint(argv))),
        Println => Ok(Value::from(crate::fmt::sprintln(argv))),
        Printf => {
            let f = argv[0].as_str().unwrap_or_default();
            Ok(Value::from(crate::fmt::sprintf(f, &argv[1..])))
        }
        Html => Ok(Value::from(html_escape(&eval_args(argv)))),
        Js => Ok(Value::from(js_escape(&eval_args(argv)))),
        Urlquery => Ok(Value::from(query_escape(&eval_args(argv)))),
        Call => {
            // Go names the callee by its node, or, when piped, by reflect.Value's String()
            let name = match (args.first(), &argv[0]) {
                (Some(a), _) => a.to_string(),
                (None, Value::String(s)) => s.to_string(),
                (None, v) => format!("<{} Value>", v.type_name()),
            };
            match &argv[0] {
                Value::Nil => Err("call of nil".into()),
                v => Err(format!("non-function {name} of type {}", v.type_name())),
            }
        }
        Eq => compare_eq(&argv[0], &argv[1..]).map(Value::Bool),
        Ne => compare_eq(&argv[0], &argv[1..2]).map(|b| Value::Bool(!b)),
        Lt => compare_lt(&argv[0], &argv[1]).map(Value::Bool),
        Le => le(&argv[0], &argv[1]).map(Value::Bool),
        Gt => le(&argv[0], &argv[1]).map(|b| Value::Bool(!b)),
        Ge => compare_lt(&argv[0], &argv[1]).map(|b| Value::Bool(!b)),
    }
}

fn length(v: &Value) -> Result<i64, String> {
    Ok(match v {
        Value::String(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i {
        Value::Int(x) | Value::Int64(x) => *x,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for (n, i) in indexes.iter().enumerate() {
        item = match &item {
            Value::Nil if n > 0 => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(i, l.len())?;
                l.get(x).cloned().ok_or("reflect: slice index out of range")?
            }
            Value::String(s) => {
                let x = index_arg(i, s.len())?;
                Value::Int(i64::from(
                    *s.as_bytes().get(x).ok_or("reflect: string index out of range")?,
                ))
            }
            Value::Bytes(b) => {
                let x = index_arg(i, b.len())?;
                Value::Int(i64::from(*b.get(x).ok_or("reflect: slice index out of range")?))
            }
            Value::Map(m) => match i {
                Value::String(k) => m.borrow().get(&**k).cloned().unwrap_or_default(),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => return Err(format!("value has type {}; should be string", other.type_name())),
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value], iface: &[bool]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, x) in indexes.iter().enumerate() {
        if iface.get(i) == Some(&true) {
            return Err("cannot index slice/array with type interface {}".into());
        }
        idx[i] = index_arg(x, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            let b = &s.as_bytes()[idx[0]..idx[1]];
            Value::from(String::from_utf8_lossy(b).into_owned())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) || a.is_nil() || b.is_nil()
}

/// Go's `eq arg1 arg2...`: true when `arg1` equals any of the others; Go's errors for incomparable types.
pub fn compare_eq(a: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for b in others {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if !a.is_nil() && !b.is_nil() {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                ));
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ => {
                    if !same_kind(a, b) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            crate::fmt::sprintf("%s", std::slice::from_ref(a)),
                            a.type_name(),
                            b.type_name(),
                            b
                        ));
                    }
                    if a.is_nil() || b.is_nil() {
                        a.is_nil() == b.is_nil()
                    } else {
                        match (a, b) {
                            (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    crate::fmt::sprintf("%s", std::slice::from_ref(b)),
                                    b.type_name()
                                ));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt a b`, with Go's errors (`incompatible types for comparison`, `invalid type for comparison`).
pub fn compare_lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a);
    let k2 = basic_kind(b);
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    let lt = compare_lt(a, b)?;
    if lt {
        return Ok(true);
    }
    compare_eq(a, std::slice::from_ref(b))
}

/// Go's `evalArgs`: one string argument as is, otherwise `fmt.Sprint` with nil printed as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let mut printable = Vec::with_capacity(args.len());
    for a in args {
        printable.push(if a.is_nil() {
            Value::from("<no value>")
        } else {
            a.clone()
        });
    }
    crate::fmt::sprint(&printable)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if crate::fmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
