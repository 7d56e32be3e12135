//! The values a template works on, modelled on the Go types Helm hands to text/template.
//!
//! Helm's values come from YAML through JSON, so every number in `.Values` is a Go `float64`
//! ([`Value::Float`]); integer literals in templates are Go `int` ([`Value::Int`]); Sprig's arithmetic returns
//! `int64` ([`Value::Int64`]). Maps are Go maps: a reference type, so [`Value::Map`] is shared and mutable
//! (Sprig's `set` changes the map every holder of it sees, as in Go). Structs with fields and methods
//! (`.Release`, `.Chart`, `.Files`, `.Capabilities`) are [`Value::Object`]s.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// A Go map with string keys (`map[string]interface{}`); Go prints and ranges over it in sorted key order.
pub type Map = BTreeMap<String, Value>;

/// A shared, mutable Go map.
pub type MapRef = Rc<RefCell<Map>>;

/// One Go value.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped nil (a missing map key under `missingkey=zero`, YAML null). Printed as `<no value>`.
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`.
    String(Arc<str>),
    /// Go `[]byte`.
    Bytes(Rc<[u8]>),
    /// Go `[]interface{}` (slices are shared by reference in Go too; functions return new ones).
    List(Rc<Vec<Value>>),
    /// Go `map[string]interface{}`.
    Map(MapRef),
    /// A Go struct or other typed value with fields and methods.
    Object(Rc<dyn Object>),
}

impl Value {
    /// A Go string.
    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }
    /// A Go `[]interface{}` holding `items`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }
    /// A Go `map[string]interface{}` holding `map`.
    pub fn map(map: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(map)))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

/// A Go struct (or pointer to one, or a named type with methods) as a template sees it: `.Field` and
/// `.Method arg...`.
pub trait Object {
    /// The Go type name, as `printf "%T"` and error messages show it (for example `*chart.Metadata`).
    fn type_name(&self) -> &str;
    /// An exported field or a method without arguments. `None`: Go's
    /// `can't evaluate field X in type T` error.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method called with arguments (`.Files.Get "x"`, `.Capabilities.APIVersions.Has "v1"`). `None`: no
    /// such method.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, crate::FuncError>> {
        let _ = (name, args);
        None
    }
    /// The Go signature of method `name`, when the engine should check its arguments as Go does
    /// (`wrong number of args for Get: want 1 got 2`, `wrong type for value; expected string; got float64`)
    /// before [`Object::call`]. `None` (the default): arguments are passed unchecked.
    fn signature(&self, name: &str) -> Option<crate::Signature> {
        let _ = name;
        None
    }
    /// What `{{ . }}` / `%v` prints (Go's `String()` method when the type has one, otherwise fmt's struct
    /// form).
    fn display(&self) -> String;
    /// Whether the value is "true" in `if` (a non-nil pointer or non-empty struct is true).
    fn truthy(&self) -> bool {
        true
    }
    /// The value as plain data, for functions such as `toYaml`, `toJson` and `deepCopy` (a struct becomes a
    /// map of its JSON field names). `None`: not representable.
    fn to_data(&self) -> Option<Value> {
        None
    }
    /// Go's `reflect.Kind` name of the value (`ptr` for a pointer to a struct, `struct` for a struct value).
    fn kind(&self) -> &str {
        "ptr"
    }
}

impl Value {
    /// The Go type name, as `printf "%T"` and Go's error messages show it: `float64`,
    /// `map[string]interface {}`, `[]interface {}`, `<nil>` for untyped nil.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `reflect.Kind` name (Sprig's `kindOf`): `invalid`, `bool`, `int`, `int64`, `float64`, `string`,
    /// `slice`, `map`, or the object's own kind (`ptr` for pointers to structs).
    pub fn kind_name(&self) -> &str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
        }
    }

    /// Go's truthiness (`if`, `with`, `and`, `or`, `not`): false, 0, nil and empty strings, slices and maps
    /// are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// Whether this is Go's untyped nil ([`Value::Nil`]); an empty string, list or map is not.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The string, when the value is a Go string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `fmt.Sprint(v)` of this one value (`%v`): floats as `1e+06`, maps as `map[a:1 b:2]`, nil as
    /// `<nil>`.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        crate::fmt::write_value(&mut out, self);
        out
    }
}

/// Go's `%v` (what `fmt.Sprint` prints).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_go_string())
    }
}

/// A Go `[]interface {}` from anything that becomes values.
impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Value::list(items.into_iter().map(Into::into).collect())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    /// A Go `int`.
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::list(items)
    }
}
impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::map(map)
    }
}

impl Value {
    /// The value Go's `json.Unmarshal` into `interface{}` yields (Helm reads values files that way): every
    /// number becomes a `float64`, objects `map[string]interface {}`, arrays `[]interface {}`.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}
