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
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    String(Rc<str>),
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
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }
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
}
