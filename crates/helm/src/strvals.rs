//! Helm's `strvals` parser (`pkg/strvals`): the `--set`, `--set-string`, `--set-file`, `--set-json` and
//! `--set-literal` syntax `a.b[0].c=x,y={1,2}`, with Helm's type inference (`--set`: `true`/`false` booleans,
//! `null`, integers as `int64`, everything else a string), its escapes (`\,` `\.` `\=`), its limits (list index
//! at most 65536, 30 levels of dotted names) and its error messages.

use tack_gotemplate::{Map, MapRef, Value};

/// The largest list index `a[i]=x` accepts.
pub const MAX_INDEX: i64 = 65536;
/// The deepest `a.b.c...` nesting accepted.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A strvals error, worded as Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StrvalsError(pub String);

/// Reads the value of a `--set-file` entry: the path as written, to the file's contents.
pub type FileReader<'a> = dyn FnMut(&str) -> Result<Value, String> + 'a;

/// `strvals.ParseInto(s, dest)` (`--set`).
pub fn parse_into(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, dest.clone(), Mode::Typed).parse()
}

/// `strvals.ParseIntoString(s, dest)` (`--set-string`).
pub fn parse_into_string(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, dest.clone(), Mode::String).parse()
}

/// `strvals.ParseJSON(s, dest)` (`--set-json` entries that are not a whole JSON object).
pub fn parse_json(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    Parser::new(s, dest.clone(), Mode::Json).parse()
}

/// `strvals.ParseIntoFile(s, dest, reader)` (`--set-file`).
pub fn parse_into_file(s: &str, dest: &MapRef, reader: &mut FileReader<'_>) -> Result<(), StrvalsError> {
    let mut p = Parser::new(s, dest.clone(), Mode::String);
    p.file_reader = Some(reader);
    p.parse()
}

/// `strvals.ParseLiteralInto(s, dest)` (`--set-literal`: everything after the first `=` is the value).
pub fn parse_literal_into(s: &str, dest: &MapRef) -> Result<(), StrvalsError> {
    let mut p = Parser::new(s, dest.clone(), Mode::String);
    p.literal = true;
    p.parse()
}

/// `strvals.Parse(s)`: a new map.
pub fn parse(s: &str) -> Result<Map, StrvalsError> {
    let m = new_map();
    parse_into(s, &m)?;
    let out = m.borrow().clone();
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Typed,
    String,
    Json,
}

/// Why a step stopped: the end of the input (Go's `io.EOF`) or an error.
enum Stop {
    Eof,
    Err(String),
}

type Step<T> = Result<T, Stop>;

fn err<T>(msg: impl Into<String>) -> Step<T> {
    Err(Stop::Err(msg.into()))
}

struct Parser<'r, 'a> {
    runes: Vec<char>,
    pos: usize,
    data: MapRef,
    mode: Mode,
    literal: bool,
    file_reader: Option<&'r mut FileReader<'a>>,
}

fn new_map() -> MapRef {
    std::rc::Rc::new(std::cell::RefCell::new(Map::new()))
}

/// Go's name for a value's dynamic type, as in `interface conversion` panics.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "[]uint8",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Object(_) => "struct",
    }
}

fn conversion_panic(v: &Value, want: &str) -> String {
    if matches!(v, Value::Nil) {
        format!("interface conversion: interface {{}} is nil, not {want}")
    } else {
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            go_type(v)
        )
    }
}

fn set(data: &MapRef, key: &str, val: Value) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_string(), val);
}

impl<'r, 'a> Parser<'r, 'a> {
    fn new(s: &str, data: MapRef, mode: Mode) -> Self {
        Parser {
            runes: s.chars().collect(),
            pos: 0,
            data,
            mode,
            literal: false,
            file_reader: None,
        }
    }

    fn parse(&mut self) -> Result<(), StrvalsError> {
        loop {
            let data = self.data.clone();
            match self.key(&data, 0) {
                Ok(()) => continue,
                Err(Stop::Eof) => return Ok(()),
                Err(Stop::Err(m)) => return Err(StrvalsError(m)),
            }
        }
    }

    fn read(&mut self) -> Option<char> {
        let c = self.runes.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// `runesUntil`: the runes up to one of `stop` (backslash escapes the next rune, except in literal mode).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            let Some(r) = self.read() else {
                return (v, None);
            };
            if stop.contains(&r) {
                return (v, Some(r));
            }
            if r == '\\' && !self.literal {
                match self.read() {
                    Some(next) => v.push(next),
                    None => return (v, None),
                }
            } else {
                v.push(r);
            }
        }
    }

    fn key(&mut self, data: &MapRef, level: usize) -> Step<()> {
        match self.key_inner(data, level) {
            Err(Stop::Err(m)) if m.starts_with("\u{0}panic:") => {
                err(format!("unable to parse key: {}", &m["\u{0}panic:".len()..]))
            }
            other => other,
        }
    }

    fn key_inner(&mut self, data: &MapRef, mut level: usize) -> Step<()> {
        let stop: &[char] = if self.literal {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.until(stop);
        match last {
            None => {
                if k.is_empty() {
                    return Err(Stop::Eof);
                }
                err(format!("key {} has no value", go_quote(&k)))
            }
            Some('[') => {
                let i = match self.key_index() {
                    Ok(i) => i,
                    Err(Stop::Err(m)) => return err(format!("error parsing index: {m}")),
                    Err(Stop::Eof) => return err("error parsing index: EOF"),
                };
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(other) => return err(panic_msg(conversion_panic(&other, "[]interface {}"))),
                };
                let (list, e) = self.list_item(list, i, level);
                match e {
                    Err(Stop::Err(m)) if m.starts_with("\u{0}panic:") => Err(Stop::Err(m)),
                    e => {
                        set(data, &k, Value::list(list));
                        e
                    }
                }
            }
            Some('=') => self.assign_key(data, &k),
            Some(',') => {
                set(data, &k, Value::string(""));
                err(format!("key {} has no value (cannot end with ,)", go_quote(&k)))
            }
            Some(_) => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => new_map(),
                    Some(Value::Map(m)) => m,
                    Some(other) => {
                        return err(panic_msg(conversion_panic(&other, "map[string]interface {}")));
                    }
                };
                let e = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return err(format!("key map {} has no value", go_quote(&k)));
                }
                if !empty {
                    set(data, &k, Value::Map(inner));
                }
                e
            }
        }
    }

    fn assign_key(&mut self, data: &MapRef, k: &str) -> Step<()> {
        if self.literal {
            let value: String = self.runes[self.pos..].iter().collect();
            self.pos = self.runes.len();
            set(data, k, Value::string(value));
            return Ok(());
        }
        if self.mode == Mode::Json {
            if self.empty_val() {
                set(data, k, Value::Nil);
                return Ok(());
            }
            let v = self.json_value()?;
            set(data, k, v);
            self.empty_val();
            return Ok(());
        }
        match self.val_list() {
            Ok(vl) => {
                set(data, k, Value::list(vl));
                Ok(())
            }
            Err(ListErr::Eof) => {
                set(data, k, Value::string(""));
                Err(Stop::Eof)
            }
            Err(ListErr::NotList) => {
                let rs = self.val();
                let v = self.reader(&rs)?;
                set(data, k, v);
                Ok(())
            }
            Err(ListErr::Err(m)) => err(m),
        }
    }

    fn json_value(&mut self) -> Step<Value> {
        let rest: String = self.runes[self.pos..].iter().collect();
        match crate::json::parse_prefix(&rest) {
            Ok((v, used)) => {
                self.pos += rest[..used].chars().count();
                Ok(v)
            }
            Err(e) => err(e.0),
        }
    }

    fn key_index(&mut self) -> Step<i64> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        go_atoi(&v).map_err(Stop::Err)
    }

    fn set_index(list: Vec<Value>, index: i64, val: Value) -> (Vec<Value>, Step<()>) {
        if index < 0 {
            return (list, err(format!("negative {index} index not allowed")));
        }
        if index > MAX_INDEX {
            return (
                list,
                err(format!(
                    "index of {index} is greater than maximum supported index of {MAX_INDEX}"
                )),
            );
        }
        let mut list = list;
        let i = index as usize;
        if list.len() <= i {
            list.resize(i + 1, Value::Nil);
        }
        list[i] = val;
        (list, Ok(()))
    }

    fn list_item(&mut self, list: Vec<Value>, i: i64, level: usize) -> (Vec<Value>, Step<()>) {
        if i < 0 {
            return (list, err(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                err(format!(
                    "unexpected data at end of array index: {}",
                    go_quote_runes(&k)
                )),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => self.list_assign(list, i),
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(Stop::Err(m)) => return (list, err(format!("error parsing index: {m}"))),
                    Err(Stop::Eof) => return (list, err("error parsing index: EOF")),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(other) => {
                        let m = panic_msg(conversion_panic(other, "[]interface {}"));
                        return (list, err(m));
                    }
                };
                let (list2, e) = self.list_item(current, next, level);
                if e.is_err() {
                    return (list, e);
                }
                Self::set_index(list, i, Value::list(list2))
            }
            Some(_) => {
                let mut list = list;
                let inner = match list.get(i as usize) {
                    Some(Value::Map(m)) => m.clone(),
                    Some(_) => {
                        let m = new_map();
                        list[i as usize] = Value::Map(m.clone());
                        m
                    }
                    None => new_map(),
                };
                let e = self.key(&inner, level);
                if e.is_err() {
                    return (list, e);
                }
                Self::set_index(list, i, Value::Map(inner))
            }
        }
    }

    fn list_assign(&mut self, list: Vec<Value>, i: i64) -> (Vec<Value>, Step<()>) {
        if self.literal {
            let value: String = self.runes[self.pos..].iter().collect();
            self.pos = self.runes.len();
            return Self::set_index(list, i, Value::string(value));
        }
        if self.mode == Mode::Json {
            if self.empty_val() {
                return Self::set_index(list, i, Value::Nil);
            }
            let v = match self.json_value() {
                Ok(v) => v,
                Err(e) => return (list, Err(e)),
            };
            let (list, e) = Self::set_index(list, i, v);
            if e.is_err() {
                return (list, e);
            }
            self.empty_val();
            return (list, Ok(()));
        }
        match self.val_list() {
            Ok(vl) => Self::set_index(list, i, Value::list(vl)),
            Err(ListErr::Eof) => Self::set_index(list, i, Value::string("")),
            Err(ListErr::NotList) => {
                let rs = self.val();
                match self.reader(&rs) {
                    Ok(v) => Self::set_index(list, i, v),
                    Err(e) => (list, Err(e)),
                }
            }
            Err(ListErr::Err(m)) => (list, err(m)),
        }
    }

    /// Skips whitespace; true at the end of the input or at a `,` (which is consumed).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(r) if r.is_whitespace() => continue,
                Some(_) => {
                    self.pos -= 1;
                    return false;
                }
            }
        }
    }

    fn val(&mut self) -> String {
        self.until(&[',']).0
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        match self.read() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.pos -= 1;
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(ListErr::Err("list must terminate with '}'".to_string())),
                Some('}') => {
                    if let Some(r) = self.read()
                        && r != ','
                    {
                        self.pos -= 1;
                    }
                    let v = self.reader(&rs).map_err(|e| match e {
                        Stop::Eof => ListErr::Eof,
                        Stop::Err(m) => ListErr::Err(m),
                    })?;
                    list.push(v);
                    return Ok(list);
                }
                Some(_) => {
                    let v = self.reader(&rs).map_err(|e| match e {
                        Stop::Eof => ListErr::Eof,
                        Stop::Err(m) => ListErr::Err(m),
                    })?;
                    list.push(v);
                }
            }
        }
    }

    fn reader(&mut self, rs: &str) -> Step<Value> {
        if let Some(r) = self.file_reader.as_mut() {
            return r(rs).map_err(Stop::Err);
        }
        Ok(typed_val(rs, self.mode == Mode::String))
    }
}

enum ListErr {
    Eof,
    NotList,
    Err(String),
}

/// Marks a message as a recovered Go panic; `key` words it as `unable to parse key: ...`.
fn panic_msg(m: String) -> String {
    format!("\u{0}panic:{m}")
}

/// `typedVal`: the type `--set` gives a value.
pub fn typed_val(val: &str, string_only: bool) -> Value {
    if string_only {
        return Value::string(val);
    }
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if val == "0" {
        return Value::Int64(0);
    }
    if !val.is_empty()
        && !val.starts_with('0')
        && let Some(i) = go_parse_int10(val)
    {
        return Value::Int64(i);
    }
    Value::string(val)
}

/// `strconv.ParseInt(s, 10, 64)` success.
fn go_parse_int10(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `strconv.Atoi`, with Go's error text.
fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s)));
    }
    s.parse()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

/// Go's `%q` of a `[]rune`: each rune single-quoted, `['a' 'b']`.
fn go_quote_runes(s: &str) -> String {
    let runes: Vec<String> = s
        .chars()
        .map(|c| match c {
            '\'' => "'\\''".to_string(),
            '"' => "'\"'".to_string(),
            _ => {
                let q = go_quote(&c.to_string());
                format!("'{}'", &q[1..q.len() - 1])
            }
        })
        .collect();
    format!("[{}]", runes.join(" "))
}

/// Go's `%q` of a string.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> String {
        match parse(s) {
            Ok(m) => crate::json::to_json(&Value::map(m)).unwrap_or_default(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn parses_helm_syntax() {
        assert_eq!(
            json("a=1,b=true,c=null,d=x"),
            r#"{"a":1,"b":true,"c":null,"d":"x"}"#
        );
        assert_eq!(json("a.b=c"), r#"{"a":{"b":"c"}}"#);
        assert_eq!(json("a[1]=x"), r#"{"a":[null,"x"]}"#);
        assert_eq!(json("a={x,y}"), r#"{"a":["x","y"]}"#);
        assert_eq!(json(r"a\.b=c\,d"), r#"{"a.b":"c,d"}"#);
        assert_eq!(json("a=007"), r#"{"a":"007"}"#);
        assert_eq!(json("a"), r#"ERR key "a" has no value"#);
        assert_eq!(json("a,"), r#"ERR key "a" has no value (cannot end with ,)"#);
        assert_eq!(
            json("a[x]=1"),
            r#"ERR error parsing index: strconv.Atoi: parsing "x": invalid syntax"#
        );
        assert_eq!(
            json("a[65537]=1"),
            "ERR index of 65537 is greater than maximum supported index of 65536"
        );
        assert_eq!(
            json("a=1,a.b=2"),
            "ERR unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
    }
}
