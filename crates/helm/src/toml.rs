//! TOML for Helm's `toToml` / `mustToToml`: the encoder of `github.com/BurntSushi/toml` v1.6.0 (the library
//! Helm v4.3.2 links) applied to template values: plain keys first, then tables (`[a.b]`, indented two spaces
//! per level) and arrays of tables (`[[a]]`), keys in byte order, floats always with a decimal point or an
//! exponent (`3.0`, `1e+06`), `null` entries left out, and a list holding `null` an error.
//!
//! [`from_toml`] reads a TOML document as the library decodes it into `map[string]interface{}` (integers as
//! `int64`, floats as `float64`); date-times become the RFC 3339 text Go's `time.Time` marshals to (local dates
//! and times in UTC), and
//! syntax errors are worded by the Rust parser, not as the Go library words them.

use tack_gotemplate::{Map, Value};

/// An encoding error, worded as the library's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TomlError(pub String);

const INDENT: &str = "  ";

/// `toml.NewEncoder(w).Encode(v)` (Helm's `mustToToml`).
pub fn to_toml(v: &Value) -> Result<String, TomlError> {
    let mut e = Encoder {
        out: String::new(),
        written: false,
    };
    e.encode(&[], v, 0)?;
    Ok(e.out)
}

/// Helm's `toToml`: the error text instead of the document when encoding fails.
pub fn to_toml_lenient(v: &Value) -> String {
    to_toml(v).unwrap_or_else(|e| e.0)
}

struct Encoder {
    out: String,
    written: bool,
}

const MAX_DEPTH: usize = 10_000;

#[derive(PartialEq)]
enum Kind {
    Nil,
    Table,
    TableArray,
    Other,
}

/// The library's `tomlTypeOfGo`, as far as the split between values and tables goes.
fn kind_of(v: &Value) -> Result<Kind, TomlError> {
    Ok(match v {
        Value::Nil => Kind::Nil,
        Value::Map(_) => Kind::Table,
        Value::Object(o) => match o.to_data() {
            Some(d) => kind_of(&d)?,
            None => Kind::Other,
        },
        Value::List(items) if !items.is_empty() => {
            let mut all_tables = true;
            for i in items.iter() {
                match kind_of(i)? {
                    Kind::Nil => {
                        return Err(TomlError(
                            "toml: cannot encode array with nil element".to_string(),
                        ));
                    }
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables { Kind::TableArray } else { Kind::Other }
        }
        _ => Kind::Other,
    })
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.out.push('\n');
        }
    }

    fn encode(&mut self, key: &[String], v: &Value, depth: usize) -> Result<(), TomlError> {
        if depth > MAX_DEPTH {
            return Err(TomlError("toml: value nested too deeply".to_string()));
        }
        match v {
            Value::Nil => Ok(()),
            Value::Map(m) => self.table(key, &m.borrow(), depth),
            Value::Object(o) => match o.to_data() {
                Some(d) => self.encode(key, &d, depth + 1),
                None => Err(TomlError(format!("toml: unsupported type: {}", o.type_name()))),
            },
            Value::List(items) if kind_of(v)? == Kind::TableArray => {
                if key.is_empty() {
                    return Err(TomlError(
                        "toml: top-level values must be Go maps or structs".to_string(),
                    ));
                }
                for item in items.iter() {
                    self.newline();
                    let line = format!("{}[[{}]]", indent(key), key_string(key));
                    self.write(&line);
                    self.newline();
                    if let Value::Map(m) = item {
                        self.map(key, &m.borrow(), false, depth + 1)?;
                    } else if let Some(Value::Map(m)) = item_data(item) {
                        self.map(key, &m.borrow(), false, depth + 1)?;
                    }
                }
                Ok(())
            }
            _ => self.key_value(key, v, false, depth),
        }
    }

    fn table(&mut self, key: &[String], m: &Map, depth: usize) -> Result<(), TomlError> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let line = format!("{}[{}]", indent(key), key_string(key));
            self.write(&line);
            self.newline();
        }
        self.map(key, m, false, depth + 1)
    }

    fn map(&mut self, key: &[String], m: &Map, inline: bool, depth: usize) -> Result<(), TomlError> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in m {
            match kind_of(v)? {
                Kind::Table | Kind::TableArray => sub.push((k, v)),
                _ => direct.push((k, v)),
            }
        }
        if inline {
            self.write("{");
        }
        let has_sub = !sub.is_empty();
        for (group, trail) in [(direct, has_sub), (sub, false)] {
            let n = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                if matches!(v, Value::Nil) {
                    continue;
                }
                if inline {
                    self.key_value(std::slice::from_ref(k), v, true, depth + 1)?;
                    if trail || i != n - 1 {
                        self.write(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k.clone());
                    self.encode(&child, v, depth + 1)?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool, depth: usize) -> Result<(), TomlError> {
        if key.is_empty() {
            return self.element(v, depth);
        }
        let prefix = format!("{}{} = ", indent(key), maybe_quoted(&key[key.len() - 1]));
        self.write(&prefix);
        self.element(v, depth)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value, depth: usize) -> Result<(), TomlError> {
        if depth > MAX_DEPTH {
            return Err(TomlError("toml: value nested too deeply".to_string()));
        }
        match v {
            Value::Nil => {
                return Err(TomlError(
                    "toml: cannot encode array with nil element".to_string(),
                ));
            }
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.write(&i.to_string()),
            Value::Float(f) => {
                let s = if f.is_nan() {
                    if f.is_sign_negative() {
                        "-nan".to_string()
                    } else {
                        "nan".to_string()
                    }
                } else if f.is_infinite() {
                    if *f < 0.0 {
                        "-inf".to_string()
                    } else {
                        "inf".to_string()
                    }
                } else {
                    let g = tack_yaml::go_format_g(*f);
                    if g.contains(['e', '.']) {
                        g
                    } else {
                        format!("{g}.0")
                    }
                };
                self.write(&s);
            }
            Value::String(s) => self.write(&quoted(s)),
            Value::Bytes(b) => {
                let items: Vec<String> = b.iter().map(u8::to_string).collect();
                self.write(&format!("[{}]", items.join(", ")));
            }
            Value::List(items) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item, depth + 1)?;
                    if i != items.len() - 1 {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Map(m) => self.map(&[], &m.borrow(), true, depth + 1)?,
            Value::Object(o) => match o.to_data() {
                Some(d) => self.element(&d, depth + 1)?,
                None => self.write(&quoted(&o.display())),
            },
        }
        Ok(())
    }
}

fn item_data(v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) => o.to_data(),
        _ => None,
    }
}

fn indent(key: &[String]) -> String {
    INDENT.repeat(key.len().saturating_sub(1))
}

fn is_bare(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|r| r.is_ascii_alphanumeric() || r == '_' || r == '-')
}

fn maybe_quoted(k: &str) -> String {
    if k.is_empty() {
        "\"\"".to_string()
    } else if is_bare(k) {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn key_string(key: &[String]) -> String {
    key.iter().map(|k| maybe_quoted(k)).collect::<Vec<_>>().join(".")
}

/// A basic string as the library quotes it.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Helm's `fromToml`: the document as a map, or `{"Error": message}` when it does not parse.
pub fn from_toml(text: &str) -> Value {
    match toml_edit::Document::parse(text) {
        Ok(doc) => table_value(doc.as_table()),
        Err(e) => {
            let msg = e.message().lines().next().unwrap_or("").to_string();
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let mut m = Map::new();
            let text = match line {
                Some(l) => format!("toml: line {l}: {msg}"),
                None => format!("toml: {msg}"),
            };
            m.insert("Error".to_string(), Value::string(text));
            Value::map(m)
        }
    }
}

fn table_value(t: &toml_edit::Table) -> Value {
    Value::map(
        t.iter()
            .filter_map(|(k, item)| item_value(item).map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn item_value(item: &toml_edit::Item) -> Option<Value> {
    Some(match item {
        toml_edit::Item::None => return None,
        toml_edit::Item::Value(v) => toml_value(v),
        toml_edit::Item::Table(t) => table_value(t),
        toml_edit::Item::ArrayOfTables(a) => Value::list(a.iter().map(table_value).collect()),
    })
}

fn toml_value(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::string(s.value().as_str()),
        toml_edit::Value::Integer(i) => Value::Int64(*i.value()),
        toml_edit::Value::Float(f) => Value::Float(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::string(go_time_json(d.value())),
        toml_edit::Value::Array(a) => Value::list(a.iter().map(toml_value).collect()),
        toml_edit::Value::InlineTable(t) => {
            Value::map(t.iter().map(|(k, v)| (k.to_string(), toml_value(v))).collect())
        }
    }
}

/// The RFC 3339 text `encoding/json` gives the `time.Time` the Go library decodes (local date-times in UTC,
/// a time alone on 0000-01-01, fractional seconds without trailing zeros).
fn go_time_json(d: &toml_edit::Datetime) -> String {
    let date = d
        .date
        .map(|x| format!("{:04}-{:02}-{:02}", x.year, x.month, x.day))
        .unwrap_or_else(|| "0000-01-01".to_string());
    let time = match d.time {
        Some(t) => {
            let mut s = format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second.unwrap_or(0));
            if let Some(ns) = t.nanosecond.filter(|n| *n > 0) {
                let frac = format!("{ns:09}");
                s.push('.');
                s.push_str(frac.trim_end_matches('0'));
            }
            s
        }
        None => "00:00:00".to_string(),
    };
    let offset = match d.offset {
        Some(toml_edit::Offset::Custom { minutes }) if minutes != 0 => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        }
        _ => "Z".to_string(),
    };
    format!("{date}T{time}{offset}")
}
