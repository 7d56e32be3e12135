//! Go's `text/template`, with Go's exact semantics (parsing, execution, `fmt` printing), as Helm uses it.
//!
//! The engine knows nothing of Helm: functions are given to it in a [`Funcs`] table (Sprig's in `tack-sprig`,
//! Helm's own in `tack-helm`), and the data is a [`Value`].
//!
//! Contract used by the other crates (the engine fills in the behaviour behind it):
//! - [`Templates::parse`] adds a named template and every `define`/`block` in it to the set; a later
//!   definition of a name replaces the earlier one, as `template.New(..).Parse` does on one set. Functions
//!   must be known at parse time (Go refuses `function "x" not defined` while parsing).
//! - [`Templates::execute`] runs one template of the set with `missingkey` behaviour from [`ExecOptions`].
//! - A [`Func`] receives a [`Call`], through which Helm's `include` and `tpl` run other templates.

mod value;

use std::collections::HashMap;
use std::rc::Rc;

pub use value::{Map, MapRef, Object, Value};

/// An error returned by a template function; the engine wraps it as Go does
/// (`template: NAME:LINE:COL: executing "NAME" at <EXPR>: error calling FUNC: MESSAGE`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    pub fn new(message: impl Into<String>) -> Self {
        FuncError(message.into())
    }
}

/// A template function. Arguments arrive evaluated; variadic functions take any number.
pub type Func = Rc<dyn Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError>>;

/// The function table (Go's `template.FuncMap`).
#[derive(Clone, Default)]
pub struct Funcs {
    map: HashMap<String, Func>,
}

impl Funcs {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds or replaces a function.
    pub fn insert(&mut self, name: &str, f: impl Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError> + 'static) {
        self.map.insert(name.to_string(), Rc::new(f));
    }
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// What a missing map key yields (Go's `Option("missingkey=...")`). Helm uses `Zero` (and `Error` under
/// `--strict`-like linting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: prints `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type (`<no value>` for `interface{}` maps).
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key "x"`.
    Error,
}

/// Execution options.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    pub missing_key: MissingKey,
    /// Nesting limit of template calls (`template`, and `include`/`tpl` through [`Call`]); Go's own limit is
    /// 100 000 (`exceeded maximum template depth`).
    pub max_depth: usize,
    /// Output size limit in bytes; exceeding it is an error.
    pub max_output: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            missing_key: MissingKey::Default,
            max_depth: 100_000,
            max_output: 64 << 20,
        }
    }
}

/// A parse error, as Go words it: `template: NAME:LINE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The whole message in Go's words.
    pub message: String,
    /// Template name and 1-based line, for tack's own diagnostics.
    pub name: String,
    pub line: usize,
}

/// An execution error, as Go words it:
/// `template: NAME:LINE:COL: executing "NAME" at <EXPR>: MESSAGE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExecError {
    /// The whole message in Go's words.
    pub message: String,
    /// Template name, 1-based line and column, and the failing expression, when known.
    pub name: String,
    pub line: usize,
    pub column: usize,
    pub expr: String,
}

/// A set of named templates (Go's `*template.Template` and the templates associated with it).
#[derive(Clone, Default)]
pub struct Templates {
    // filled in by the engine
}

impl Templates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `text` as the template `name` (and its `define`s) into the set. `funcs` names the functions the
    /// text may call.
    pub fn parse(&mut self, name: &str, text: &str, funcs: &Funcs) -> Result<(), ParseError> {
        let _ = (text, funcs);
        Err(ParseError {
            message: format!("template: {name}: the engine is not written yet"),
            name: name.to_string(),
            line: 0,
        })
    }

    /// Whether the set holds a template of that name.
    pub fn contains(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// Executes the template `name` with `data` as dot.
    pub fn execute(&self, name: &str, data: &Value, funcs: &Funcs, opts: &ExecOptions) -> Result<String, ExecError> {
        let _ = (data, funcs, opts);
        Err(ExecError {
            message: format!("template: no template {name:?} associated with template"),
            name: name.to_string(),
            line: 0,
            column: 0,
            expr: String::new(),
        })
    }
}

/// What a function sees of the execution that called it.
pub struct Call<'a> {
    templates: &'a Templates,
    funcs: &'a Funcs,
    opts: &'a ExecOptions,
    depth: usize,
}

impl<'a> Call<'a> {
    /// Runs the template `name` of the executing set with `data` (Helm's `include`).
    pub fn execute(&mut self, name: &str, data: &Value) -> Result<String, FuncError> {
        let _ = (self.templates, self.funcs, self.opts, self.depth, name, data);
        Err(FuncError::new("the engine is not written yet"))
    }

    /// Parses `text` as a new template named `name` in a copy of the executing set (its `define`s visible to
    /// the text, the text's own `define`s not leaking out) and runs it with `data` (Helm's `tpl`).
    pub fn parse_and_execute(&mut self, name: &str, text: &str, data: &Value) -> Result<String, FuncError> {
        let _ = (name, text, data);
        Err(FuncError::new("the engine is not written yet"))
    }

    /// How deep the current template calls are nested.
    pub fn depth(&self) -> usize {
        self.depth
    }
}
